// A transaction whose server connection died (the primary stopped, a failover, an admin
// terminate) while the client was inside it. In transaction mode the client keeps its connection
// (docs/architecture.md: only transactions in flight may fail): like PostgreSQL in a failed transaction
// block, the pooler answers every request with 25P02 (the first one with the reason) until the
// client ends the block with ROLLBACK (or COMMIT/END/ABORT, which PostgreSQL also answers with
// ROLLBACK); after that its requests go to a server connection again. Nothing of the lost
// transaction can be replayed, so nothing is sent to a server meanwhile.
import { MessageFramer } from '../net/framer.ts';
import * as msg from '../net/messages.ts';

const ENDS_BLOCK = /^\s*(rollback|abort|commit|end)\b/i;
const ABORTED = {
  severity: 'ERROR',
  code: '25P02',
  message: 'current transaction is aborted, commands ignored until end of transaction block',
} as const;

export class LostTransaction {
  private readonly framer: MessageFramer;
  /** The reason, told with the first answer. */
  private reason: Buffer | null;
  /** Extended-protocol messages since the last Sync include an error answer already. */
  private erroredSinceSync = false;

  constructor(maxMessageSize: number, reason: Buffer | null) {
    this.framer = new MessageFramer(maxMessageSize);
    this.reason = reason;
  }

  /**
   * Answers what the client sent. Returns the replies and, once the block has ended, the bytes
   * that followed (to be handled normally); `ended` is false while the block is still open.
   */
  onClientData(chunk: Buffer): { replies: Buffer[]; ended: boolean; rest: Buffer; terminated: boolean } {
    this.framer.push(chunk);
    const replies: Buffer[] = [];
    for (let m = this.framer.next(); m !== undefined; m = this.framer.next()) {
      switch (m.type) {
        case 0x51 /* Query */: {
          const sql = m.body.toString('utf8', 0, Math.max(0, m.body.length - 1));
          if (ENDS_BLOCK.test(sql)) {
            replies.push(msg.commandComplete('ROLLBACK'), msg.readyForQuery('I'));
            return { replies, ended: true, rest: this.framer.takeRest(), terminated: false };
          }
          replies.push(this.error(), msg.readyForQuery('E'));
          break;
        }
        case 0x53 /* Sync */:
          if (!this.erroredSinceSync) replies.push(this.error());
          this.erroredSinceSync = false;
          replies.push(msg.readyForQuery('E'));
          break;
        case 0x58 /* Terminate */:
          return { replies, ended: true, rest: Buffer.alloc(0), terminated: true };
        case 0x48 /* Flush */:
          break;
        default:
          // Parse/Bind/Describe/Execute/Close...: the first one of a pipeline gets the error, the
          // rest are skipped up to Sync, as PostgreSQL does.
          if (!this.erroredSinceSync) {
            replies.push(this.error());
            this.erroredSinceSync = true;
          }
      }
    }
    return { replies, ended: false, rest: Buffer.alloc(0), terminated: false };
  }

  private error(): Buffer {
    const r = this.reason;
    if (r !== null) {
      this.reason = null;
      return r;
    }
    return msg.errorResponse(ABORTED);
  }
}

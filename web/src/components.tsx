// Small building blocks: error box, modal dialog (native <dialog>: focus trap, Esc, inert page),
// copyable field, status badge, the error-and-buttons foot of a dialog's form.
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from './api.ts';

export function ErrorBox({ error }: { error: unknown }) {
  if (!error) return null;
  const e = error instanceof ApiError ? error : new ApiError(0, 'ERROR', (error as Error).message ?? String(error));
  const issues = Array.isArray(e.details) ? (e.details as { path?: string; message?: string }[]) : [];
  return (
    <div class="error" role="alert">
      <strong class="error-code">{e.code}</strong>
      {e.status > 0 && <span class="error-status"> (HTTP {e.status})</span>}
      <span class="error-message"> {e.message}</span>
      {issues.length > 0 && (
        <ul>
          {issues.map((i) => (
            <li>
              <code>{i.path || '(body)'}</code>: {i.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function Modal({ title, onClose, children, wide }: { title: string; onClose: () => void; children: ComponentChildren; wide?: boolean }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current!;
    if (!d.open) d.showModal();
    const close = (): void => onClose();
    d.addEventListener('close', close);
    return () => d.removeEventListener('close', close);
  }, []);
  const id = `dlg-${title.replace(/\W+/g, '-').toLowerCase()}`;
  return (
    <dialog ref={ref} class={wide ? 'wide' : ''} aria-labelledby={id}>
      <header class="dialog-head">
        <h2 id={id}>{title}</h2>
        <button type="button" class="icon" aria-label="Close" onClick={() => ref.current?.close()}>
          ×
        </button>
      </header>
      {children}
    </dialog>
  );
}

export function CopyField({ label, value, secret }: { label: string; value: string; secret?: boolean }) {
  const [copied, setCopied] = useState(false);
  const id = `copy-${label.replace(/\W+/g, '-').toLowerCase()}`;
  return (
    <div class="copy-field">
      <label for={id}>{label}</label>
      <div class="copy-row">
        <input id={id} readOnly value={value} class={secret ? 'mono secret' : 'mono'} onFocus={(e) => (e.target as HTMLInputElement).select()} />
        <button
          type="button"
          onClick={async () => {
            try {
              await navigator.clipboard.writeText(value);
              setCopied(true);
              setTimeout(() => setCopied(false), 1500);
            } catch {
              const el = document.getElementById(id) as HTMLInputElement | null;
              el?.select();
            }
          }}
        >
          {copied ? 'Copied' : 'Copy'}
        </button>
      </div>
    </div>
  );
}

export function Badge({ kind, children }: { kind: 'ok' | 'warn' | 'bad' | 'muted'; children: ComponentChildren }) {
  return <span class={`badge badge-${kind}`}>{children}</span>;
}

/** Re-runs `fn` every `ms` while mounted (and once at once); the latest `fn` is used. */
export function useInterval(fn: () => void, ms: number, deps: unknown[] = []): void {
  const saved = useRef(fn);
  saved.current = fn;
  useEffect(() => {
    saved.current();
    const t = setInterval(() => saved.current(), ms);
    return () => clearInterval(t);
  }, [ms, ...deps]);
}

/** The foot of a dialog's form: the API error (if any), Cancel, and the submit button. */
export function FormFoot({ error, busy, onCancel, label, busyLabel, kind = 'primary', disabled = false }: { error: unknown; busy: boolean; onCancel: () => void; label: string; busyLabel: string; kind?: 'primary' | 'danger'; disabled?: boolean }) {
  return (
    <>
      <ErrorBox error={error} />
      <div class="dialog-foot">
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" class={kind} disabled={busy || disabled}>
          {busy ? busyLabel : label}
        </button>
      </div>
    </>
  );
}

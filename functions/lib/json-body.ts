// A middy `before` middleware that parses a JSON request body. Unlike @middy/http-json-body-parser
// (422 on bad JSON, 415 on any missing content type) it gives the API's own answers: malformed
// JSON is a 400 MALFORMED_JSON, a body that declares a non-JSON media type is a 415, and an empty
// body is `undefined` (the schema then decides whether a body was required).
import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { MalformedJsonError, UnsupportedMediaTypeError } from './http-errors.ts';

/** RFC 8259 §11 application/json, and structured-syntax +json suffixes (RFC 6839 §3.1). */
export const jsonMediaType = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

export interface ParsedBody {
  readonly parsedBody: unknown;
}

/** Parses the raw body of an API Gateway v2 event; exported for tests and the local server. */
export function parseJsonBody(event: Pick<APIGatewayProxyEventV2, 'body' | 'isBase64Encoded' | 'headers'>): unknown {
  const raw = event.body;
  if (raw === undefined || raw === null || raw === '') return undefined;
  const text = event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
  if (text.trim() === '') return undefined;
  const contentType = event.headers?.['content-type'];
  // A client that omits Content-Type still gets its JSON parsed (curl -d sends form encoding,
  // which we refuse explicitly; no header at all is treated as JSON).
  if (contentType !== undefined && !jsonMediaType.test(contentType)) throw new UnsupportedMediaTypeError();
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new MalformedJsonError();
  }
}

/** Stores the parsed body on the event (`parsedBody`), leaving the raw `body` untouched. */
export function jsonBody(): MiddlewareObj<APIGatewayProxyEventV2 & Partial<ParsedBody>> {
  return {
    name: 'switchyard-json-body',
    before: (request) => {
      const parsed = parseJsonBody(request.event);
      Object.assign(request.event, { parsedBody: parsed });
    },
  };
}

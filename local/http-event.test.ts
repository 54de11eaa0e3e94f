// The HTTP ↔ API Gateway v2 mapping (payload format 2.0): what a handler sees for a request, and
// the response a Lambda result becomes.
import { describe, expect, it } from 'vitest';
import { fromLambdaResult, toApiEvent } from './http-event.ts';

const match = { routeKey: 'POST /tenants/{id}/rotate-password', pathParameters: { id: 'acme' } };

describe('toApiEvent', () => {
  it('builds a payload 2.0 event: lower-case headers, cookies apart, repeated query values joined', () => {
    const e = toApiEvent(
      {
        method: 'post',
        url: '/tenants/acme/rotate-password?x=1&x=2&y=',
        headers: { host: '127.0.0.1:8080', 'content-type': 'application/json', cookie: 'a=1; b=2', 'x-multi': ['p', 'q'], 'user-agent': 'curl/8' },
        body: Buffer.from('{"graceSeconds":0}'),
        sourceIp: '127.0.0.1',
        protocol: 'HTTP/1.1',
      },
      match,
      new Date('2030-01-02T03:04:05.000Z'),
    );
    expect(e).toMatchObject({
      version: '2.0',
      routeKey: 'POST /tenants/{id}/rotate-password',
      rawPath: '/tenants/acme/rotate-password',
      rawQueryString: 'x=1&x=2&y=',
      cookies: ['a=1', 'b=2'],
      headers: { host: '127.0.0.1:8080', 'content-type': 'application/json', 'x-multi': 'p,q', 'user-agent': 'curl/8' },
      queryStringParameters: { x: '1,2', y: '' },
      pathParameters: { id: 'acme' },
      body: '{"graceSeconds":0}',
      isBase64Encoded: false,
      requestContext: { http: { method: 'POST', path: '/tenants/acme/rotate-password', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'curl/8' }, routeKey: 'POST /tenants/{id}/rotate-password', stage: '$default', timeEpoch: Date.parse('2030-01-02T03:04:05.000Z') },
    });
    expect(e.headers.cookie).toBeUndefined();
  });

  it('base64-encodes a body that is not UTF-8 and leaves out what was not sent', () => {
    const e = toApiEvent({ method: 'GET', url: '/x', headers: {}, body: Buffer.from([0xff, 0xfe, 0x00]), sourceIp: '::1', protocol: 'HTTP/1.1' }, { routeKey: 'GET /x', pathParameters: {} });
    expect(e.isBase64Encoded).toBe(true);
    expect(e.body).toBe(Buffer.from([0xff, 0xfe, 0x00]).toString('base64'));
    expect(e.queryStringParameters).toBeUndefined();
    expect(e.pathParameters).toBeUndefined();
    expect(e.cookies).toBeUndefined();
  });
});

describe('fromLambdaResult', () => {
  it('maps a structured result: status, headers, cookies, base64 body', () => {
    const r = fromLambdaResult({ statusCode: 201, headers: { 'Content-Type': 'application/json', ETag: '"1"' }, cookies: ['s=1'], body: Buffer.from('{"ok":true}').toString('base64'), isBase64Encoded: true });
    expect(r).toEqual({ status: 201, headers: { 'content-type': 'application/json', etag: '"1"', 'set-cookie': ['s=1'] }, body: Buffer.from('{"ok":true}') });
  });

  it('infers 200 JSON for a result without statusCode, as API Gateway does', () => {
    expect(fromLambdaResult({ hello: 'world' } as never)).toEqual({ status: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from('{"hello":"world"}') });
    expect(fromLambdaResult('plain').body.toString()).toBe('plain');
  });
});

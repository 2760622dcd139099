/**
 * Typed errors of the HTTP layer and the bodies SGLang 0.5.2 sends for them.
 *
 * Invariants:
 * - `BadRequestError` is SGLang's ValueError: native routes answer 400 `{"error":{"message"}}`,
 *   OpenAI routes answer 400 `{"object":"error",...,"type":"BadRequestError"}`.
 * - `RequestValidationError` is FastAPI's body validation (bad JSON, wrong types, content type):
 *   400 `{"object":"error","message","type":"Bad Request","param":null,"code":400}` on every route.
 * - `HttpStatusError` is an HTTPException (503 queue full, 500 engine failure): the error
 *   envelope with `type` = the status as a string, on every route.
 * - Anything else is an internal error: 500 (`InternalServerError` on OpenAI routes).
 */

export class BadRequestError extends Error {
  override readonly name = 'BadRequestError';
}

export interface ValidationIssue {
  loc: (string | number)[];
  msg: string;
  type: string;
}

export class RequestValidationError extends Error {
  override readonly name = 'RequestValidationError';
  constructor(readonly issues: ValidationIssue[]) {
    super(formatIssues(issues));
  }
}

export class HttpStatusError extends Error {
  override readonly name = 'HttpStatusError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** pydantic-like rendering: `[{'type': 'value_error', 'loc': ('body', 'x'), 'msg': '...'}]`. */
function formatIssues(issues: ValidationIssue[]): string {
  const parts = issues.map((i) => {
    const loc = i.loc.map((l) => (typeof l === 'number' ? String(l) : `'${l}'`)).join(', ');
    const msg = i.msg.includes("'") ? `"${i.msg}"` : `'${i.msg}'`;
    return `{'type': '${i.type}', 'loc': (${loc}${i.loc.length === 1 ? ',' : ''}), 'msg': ${msg}}`;
  });
  return `[${parts.join(', ')}]`;
}

export function invalid(loc: (string | number)[], msg: string, type = 'value_error'): RequestValidationError {
  return new RequestValidationError([{ loc: ['body', ...loc], msg, type }]);
}

export interface ErrorReply {
  status: number;
  body: unknown;
}

export function openaiErrorBody(message: string, type: string, code: number, param: string | null = null) {
  return { object: 'error', message, type, param, code };
}

/** Maps an error thrown by a native-route handler to SGLang's status and body. */
export function nativeErrorReply(err: unknown): ErrorReply {
  if (err instanceof RequestValidationError) {
    return { status: 400, body: openaiErrorBody(err.message, 'Bad Request', 400) };
  }
  if (err instanceof HttpStatusError) {
    return { status: err.status, body: openaiErrorBody(err.message, String(err.status), err.status) };
  }
  if (err instanceof BadRequestError) {
    return { status: 400, body: { error: { message: err.message } } };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { status: 500, body: { error: { message } } };
}

/** Maps an error thrown by an OpenAI-route handler to SGLang's status and body. */
export function openaiErrorReply(err: unknown): ErrorReply {
  if (err instanceof RequestValidationError) {
    return { status: 400, body: openaiErrorBody(err.message, 'Bad Request', 400) };
  }
  if (err instanceof HttpStatusError) {
    return { status: err.status, body: openaiErrorBody(err.message, String(err.status), err.status) };
  }
  if (err instanceof BadRequestError) {
    return { status: 400, body: openaiErrorBody(err.message, 'BadRequestError', 400) };
  }
  const message = err instanceof Error ? err.message : String(err);
  return {
    status: 500,
    body: openaiErrorBody(`Internal server error: ${message}`, 'InternalServerError', 500),
  };
}

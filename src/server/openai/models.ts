/**
 * GET /v1/models and GET /v1/models/{model} (SGLang ModelCard / ModelList).
 *
 * Invariants: exactly one model card, id == root == served model name, max_model_len ==
 * the model's context length; an unknown id answers 404 with OpenAI's model_not_found body.
 */
import type { ServerResponse } from 'node:http';
import type { ServerContext } from '../context.js';
import { sendJson } from '../http-util.js';

const CREATED = Math.floor(Date.now() / 1000);

function card(ctx: ServerContext, id: string) {
  return {
    id,
    object: 'model',
    created: CREATED,
    owned_by: 'sglang',
    root: id,
    max_model_len: ctx.engine.modelInfo.contextLength,
  };
}

export function handleListModels(ctx: ServerContext, res: ServerResponse): void {
  sendJson(res, 200, { object: 'list', data: [card(ctx, ctx.modelName)] });
}

export function handleRetrieveModel(ctx: ServerContext, res: ServerResponse, model: string): void {
  if (model !== ctx.modelName) {
    sendJson(res, 404, {
      error: {
        message: `The model '${model}' does not exist`,
        type: 'invalid_request_error',
        param: 'model',
        code: 'model_not_found',
      },
    });
    return;
  }
  sendJson(res, 200, card(ctx, model));
}

// What `undici` is inside the agent bundle (scripts/bundle-agent.mjs aliases it here):
// undici 6, which runs on Node 18.17+, with its Pool taking the dispatch handlers of undici 7
// that Gantry's proxy is written against (onRequestStart / onResponseStart / onResponseData /
// onResponseEnd / onResponseError). undici 6 only knows the older interface (onConnect,
// onHeaders, onData, onComplete, onError) and rejects any other handler with "invalid
// onError method", so every request through the agent's proxy on a host failed. The
// adapter below is undici 7's own lib/handler/unwrap-handler.js (MIT), which undici 7
// applies in its dispatch, here on top of undici 6's header parsing.
import * as undici6 from 'undici6';
import util from 'undici6/lib/core/util.js';
import errors from 'undici6/lib/core/errors.js';

export * from 'undici6';

const { parseHeaders } = util;
const { InvalidArgumentError } = errors;
const kResume = Symbol('resume');

class UnwrapController {
  #paused = false;
  #reason = null;
  #aborted = false;
  #abort;
  [kResume] = null;
  rawHeaders = null;
  rawTrailers = null;

  constructor(abort) {
    this.#abort = abort;
  }

  pause() {
    this.#paused = true;
  }

  resume() {
    if (this.#paused) {
      this.#paused = false;
      this[kResume]?.();
    }
  }

  abort(reason) {
    if (!this.#aborted) {
      this.#aborted = true;
      this.#reason = reason;
      this.#abort(reason);
    }
  }

  get aborted() {
    return this.#aborted;
  }

  get reason() {
    return this.#reason;
  }

  get paused() {
    return this.#paused;
  }
}

class UnwrapHandler {
  #handler;
  #controller;

  constructor(handler) {
    this.#handler = handler;
  }

  static unwrap(handler) {
    return !handler.onRequestStart ? handler : new UnwrapHandler(handler);
  }

  onConnect(abort, context) {
    this.#controller = new UnwrapController(abort);
    this.#handler.onRequestStart?.(this.#controller, context);
  }

  onResponseStarted() {
    return this.#handler.onResponseStarted?.();
  }

  onUpgrade(statusCode, rawHeaders, socket) {
    this.#controller.rawHeaders = rawHeaders;
    this.#handler.onRequestUpgrade?.(this.#controller, statusCode, parseHeaders(rawHeaders), socket);
  }

  onHeaders(statusCode, rawHeaders, resume, statusMessage) {
    this.#controller[kResume] = resume;
    this.#controller.rawHeaders = rawHeaders;
    this.#handler.onResponseStart?.(this.#controller, statusCode, parseHeaders(rawHeaders), statusMessage);
    return !this.#controller.paused;
  }

  onData(data) {
    this.#handler.onResponseData?.(this.#controller, data);
    return !this.#controller.paused;
  }

  onComplete(rawTrailers) {
    this.#controller.rawTrailers = rawTrailers;
    this.#handler.onResponseEnd?.(this.#controller, parseHeaders(rawTrailers));
  }

  onError(err) {
    if (!this.#handler.onResponseError) throw new InvalidArgumentError('invalid onError method');
    this.#handler.onResponseError(this.#controller, err);
  }
}

/** undici 6's Pool, taking undici 7 style handlers too (as undici 7's Pool does). */
export class Pool extends undici6.Pool {
  dispatch(opts, handler) {
    return super.dispatch(opts, UnwrapHandler.unwrap(handler));
  }
}

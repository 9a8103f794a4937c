import { TortieError } from '../../lib/errors.js';
import { ErrorAction, type NotifCode } from './constants.js';

/**
 * A decode failure that maps to a NOTIFICATION. The speaker sends
 * `{ notifCode, notifSubcode, data }` and then acts on `action`, which for a
 * thrown error is always SessionReset.
 */
export class BgpError extends TortieError {
  readonly notifCode: NotifCode;
  readonly notifSubcode: number;
  readonly data: Uint8Array;
  readonly action: ErrorAction;

  constructor(
    notifCode: NotifCode,
    notifSubcode: number,
    message: string,
    data: Uint8Array = new Uint8Array(0),
    action: ErrorAction = ErrorAction.SessionReset,
  ) {
    super('ERR_BGP_MALFORMED', message);
    this.name = 'BgpError';
    this.notifCode = notifCode;
    this.notifSubcode = notifSubcode;
    this.data = data;
    this.action = action;
  }

  /** The outcome triple tests assert on. */
  outcome(): Outcome {
    return { code: this.notifCode, subcode: this.notifSubcode, action: this.action };
  }
}

/** `{ code, subcode, action }`: what a malformation leads to. */
export interface Outcome {
  code: number;
  subcode: number;
  action: ErrorAction;
}

/** Encoder misuse (a value the wire cannot carry). Not a peer's fault. */
export class BgpEncodeError extends TortieError {
  constructor(message: string) {
    super('ERR_BGP_ENCODE', message);
    this.name = 'BgpEncodeError';
  }
}

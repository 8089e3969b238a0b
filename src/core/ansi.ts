/** Terminal escape sequences (colours, cursor moves, titles) in captured output: dropped before it is shown, stored or quoted. */
// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]|\r/g;

export function stripAnsi(text: string): string {
  return text.replace(ANSI, '');
}

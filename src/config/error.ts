import { SwitchboardError } from '../core/errors.js';

/** `invalid config <file> at <json.path>: <reason>`; the reason says what to do next. */
export function configError(
  where: string,
  path: string,
  reason: string,
  cause?: unknown,
  data: Record<string, unknown> = {},
): SwitchboardError {
  return new SwitchboardError('E_CONFIG', `invalid config ${where}${path ? ` at ${path}` : ''}: ${reason}`, {
    data: { file: where, path, reason, ...data },
    cause,
  });
}

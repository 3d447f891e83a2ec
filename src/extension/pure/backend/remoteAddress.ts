/**
 * `agentchord.backend.remote` as written in settings: `host:port`, or just `port` (host 127.0.0.1).
 * Not src/backend/server/startBackend.ts's parseListen: importing that module would pull ONNX Runtime into the
 * extension bundle. No `vscode` here, so it is unit-tested in plain Node.
 */
export function parseRemote(text: string, setting: string): { host: string; port: number } {
  const trimmed = text.trim();
  const colon = trimmed.lastIndexOf(':');
  const host = colon >= 0 ? trimmed.slice(0, colon) || '127.0.0.1' : '127.0.0.1';
  const portText = colon >= 0 ? trimmed.slice(colon + 1) : trimmed;
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 1 || port > 65535) {
    throw new Error(`setting ${setting}: expected host:port (port 1-65535), got '${text}'`);
  }
  return { host, port };
}

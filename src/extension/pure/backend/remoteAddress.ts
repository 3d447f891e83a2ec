/**
 * `agentchord.backend.remote` as written in settings: `host:port`, or just `port` (host 127.0.0.1), optionally as
 * `tcp://host:port` or `tls://host:port` (TLS: the certificate is verified, against `agentchord.backend.remoteCa`).
 * Not src/backend/server/startBackend.ts's parseListen: importing that module would pull ONNX Runtime into the
 * extension bundle. No `vscode` here, so it is unit-tested in plain Node.
 */
export function parseRemote(text: string, setting: string): { host: string; port: number; tls?: true } {
  const scheme = /^\s*(tcp|tls):\/\//.exec(text);
  const trimmed = scheme ? text.trim().slice(scheme[0].trim().length) : text.trim();
  const colon = trimmed.lastIndexOf(':');
  const host = colon >= 0 ? trimmed.slice(0, colon) || '127.0.0.1' : '127.0.0.1';
  const portText = colon >= 0 ? trimmed.slice(colon + 1) : trimmed;
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 1 || port > 65535 || /[\s/]/.test(host)) {
    throw new Error(`setting ${setting}: expected host:port (port 1-65535), tcp://host:port or tls://host:port, got '${text}'`);
  }
  return { host, port, ...(scheme?.[1] === 'tls' ? { tls: true as const } : {}) };
}

/**
 * Whether a connection is a Unix domain socket, decided from what the
 * socket is: its libuv handle (`Pipe` or `TCP`), or, once the handle is
 * gone, the address its server listens on (a path). Never from a missing
 * `remoteAddress`: a TCP client that sends its bytes and resets before
 * Node accepts the connection leaves a socket without a peer address
 * whose bytes are still readable (issue 19). Anything this cannot
 * recognise (a stream that is no socket) is not a Unix socket.
 */

type SocketLike = {
  _handle?: object | null
  _parent?: unknown
  server?: { address(): unknown } | null
}

/** @internal */
export const isUnixSocket = (socket: unknown): boolean => {
  let s = socket as SocketLike | null | undefined
  // a TLS socket reads through the socket under it
  while (s?._parent != null) s = s._parent as SocketLike
  if (s == null) return false
  const handle = s._handle
  if (handle != null) return handle.constructor.name === 'Pipe'
  return typeof s.server?.address() === 'string'
}

#!/bin/sh
# The same throwaway certificates as the Fastify mTLS example (one script
# for both): ca.crt/key, server.crt/key, client.crt/key, stranger.crt/key.
# Usage: sh make-certs.sh [output folder, default ./certs]
set -eu
exec sh "$(dirname "$0")/../mtls-fastify/make-certs.sh" "$@"

#!/bin/sh
# Make throwaway certificates for the mTLS examples (valid 30 days):
#   ca.crt/key          a private client CA (give it to the server as `ca`)
#   server.crt/key      the server's certificate for localhost / 127.0.0.1
#   client.crt/key      a client certificate: EKU clientAuth, SPIFFE ID
#                       spiffe://example.org/ns/prod/sa/web
#   stranger.crt/key    a client certificate from another CA (refused)
# Usage: sh make-certs.sh [output folder, default ./certs]
set -eu
out=${1:-certs}
mkdir -p "$out"
cd "$out"

cat > ext.cnf <<'CNF'
[server]
basicConstraints = CA:FALSE
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
[client]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectAltName = URI:spiffe://example.org/ns/prod/sa/web, DNS:web.example.org
CNF

ca() { # name, common name
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$1.key" -out "$1.crt" -days 30 -subj "/CN=$2" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
}
leaf() { # name, common name, issuing CA, extensions section
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$1.key" -out "$1.csr" -subj "/CN=$2" 2>/dev/null
  openssl x509 -req -in "$1.csr" -CA "$3.crt" -CAkey "$3.key" -CAcreateserial -days 30 \
    -extfile ext.cnf -extensions "$4" -out "$1.crt" 2>/dev/null
  rm "$1.csr"
}

ca ca 'Example Client CA'
leaf server localhost ca server
leaf client web ca client
ca other-ca 'Some Other CA'
leaf stranger stranger other-ca client
rm -f ext.cnf ./*.srl
echo "certificates written to $(pwd)"

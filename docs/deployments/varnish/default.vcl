# Varnish 7 caches in front of a proxy-aware app; it speaks no TLS, so hitch
# (varnish/hitch.conf) terminates TLS and passes each connection on with the
# PROXY protocol (v2), which gives Varnish the client's address.
# varnishd -f default.vcl -a 127.0.0.1:{{HTTP_PORT}} \
#   -a tls=127.0.0.1:{{VARNISH_TLS_PORT}},PROXY -p feature=+http2
# The app trusts Varnish's address and nothing else: trust: '127.0.0.1'.
vcl 4.1;

backend app {
    .host = "127.0.0.1";
    .port = "{{APP_PORT}}";
}

sub vcl_recv {
    # Overwrite: Varnish passes a client's X-Forwarded-Proto on unchanged.
    # The listener says how the client came: "tls" is hitch's (-a tls=...).
    if (local.socket == "tls") {
        set req.http.X-Forwarded-Proto = "https";
    } else {
        set req.http.X-Forwarded-Proto = "http";
    }
    # The app reads Host and X-Forwarded-*: drop the client's copies of the
    # rest. Varnish appends client.ip to X-Forwarded-For itself.
    unset req.http.Forwarded;
    unset req.http.X-Forwarded-Host;
}

sub vcl_hash {
    # http and https answers differ (the redirect, HSTS): never serve one
    # for the other from the cache. The built-in hash (URL, Host) follows.
    hash_data(req.http.X-Forwarded-Proto);
}

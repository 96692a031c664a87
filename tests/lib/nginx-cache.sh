# nginx-cache.sh: a real nginx on 127.0.0.1 serving Bazel's HTTP cache
# protocol with WebDAV PUT, for tests of the remote result cache (sourced
# after libtest.sh).
#
#   start_nginx_cache NAME   starts it under $T/NAME; sets NGINX_URL
#                            (http://127.0.0.1:PORT), NGINX_PORT,
#                            NGINX_PID and NGINX_STORE (the directory
#                            holding ac/ and cas/)
#   stop_nginx_cache         stops it by pid (and waits for it)
#   nginx_prepare, nginx_start  (below) run another configuration, such as
#                            the one of examples/kubernetes/cache-server.yaml
#
# Besides the cache at the root, three prefixes for the failure paths:
#   /fail/   every request answers 503
#   /slow/   every request waits 60 s before answering (the echo module's
#            echo_sleep: a timer, so nginx still answers the others)
#   /auth/   the same store behind Basic auth: user "cache", password
#            $NGINX_PASSWORD
# nginx runs as one process (master_process off), so that its pid is the
# whole server: killing it kills the cache, as a crashed server would.
. "$(dirname "${BASH_SOURCE[0]}")/registry.sh" # free_port, wait_http

NGINX=${NGINX:-/usr/sbin/nginx}
NGINX_ECHO_MODULE=${NGINX_ECHO_MODULE:-/usr/lib/nginx/modules/ngx_http_echo_module.so}
NGINX_PASSWORD=${NGINX_PASSWORD:-s3cret-$$-$RANDOM}

# nginx_prepare NAME: a directory $T/NAME (NGINX_DIR) and a free port
# (NGINX_PORT, NGINX_URL) for nginx_start, which runs the http{} block the
# caller writes to $NGINX_DIR/http.conf.
nginx_prepare() {
  [ -x "$NGINX" ] || fatal "needs nginx (apt-get install nginx)"
  [ -e "$NGINX_ECHO_MODULE" ] || fatal "needs nginx's echo module (apt-get install libnginx-mod-http-echo)"
  NGINX_DIR=$T/$1
  NGINX_PORT=$(free_port)
  NGINX_URL=http://127.0.0.1:$NGINX_PORT
  mkdir -p "$NGINX_DIR/tmp"
}

# nginx_start [HEALTH_PATH]: start nginx with $NGINX_DIR/http.conf (one
# process: see above), sets NGINX_PID, waits until HEALTH_PATH (default
# /healthz) answers.
nginx_start() {
  local d=$NGINX_DIR
  # As root the worker would otherwise switch to nobody, who cannot
  # write $T; one process runs as whoever starts it.
  local user=""
  [ "$(id -u)" -eq 0 ] && user="user root root;"
  cat >"$d/nginx.conf" <<CONF
load_module $NGINX_ECHO_MODULE;
daemon off;
master_process off;
$user
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 64; }
http {
  # combined, then the connection's serial number and its request count
  # (tests of keep-alive read the last two fields)
  log_format ohr '\$remote_addr - \$remote_user [\$time_local] "\$request" \$status \$body_bytes_sent "\$http_referer" "\$http_user_agent" \$connection \$connection_requests';
  access_log $d/access.log ohr;
  client_body_temp_path $d/tmp/body;
  proxy_temp_path $d/tmp/proxy;
  fastcgi_temp_path $d/tmp/fastcgi;
  uwsgi_temp_path $d/tmp/uwsgi;
  scgi_temp_path $d/tmp/scgi;
  default_type application/octet-stream;
  include $d/http.conf;
}
CONF
  "$NGINX" -p "$d" -c "$d/nginx.conf" -e "$d/error.log" >"$d/nginx.out" 2>&1 &
  NGINX_PID=$!
  at_exit "stop_nginx_cache"
  wait_http "$NGINX_URL${1:-/healthz}"
}

start_nginx_cache() {
  nginx_prepare "$1"
  local d=$NGINX_DIR
  NGINX_STORE=$d/store
  mkdir -p "$NGINX_STORE"
  printf 'cache:%s\n' "$(openssl passwd -apr1 "$NGINX_PASSWORD")" >"$d/htpasswd"
  cat >"$d/http.conf" <<CONF
server {
  listen 127.0.0.1:$NGINX_PORT;
  client_max_body_size 2g;
  location = /healthz { return 200; }
  location /fail/ { return 503; }
  location /slow/ { echo_sleep 60; echo "late"; }
  location /auth/ {
    alias $NGINX_STORE/;
    auth_basic "cache";
    auth_basic_user_file $d/htpasswd;
    dav_methods PUT DELETE;
    create_full_put_path on;
  }
  location / {
    root $NGINX_STORE;
    dav_methods PUT DELETE;
    create_full_put_path on;
  }
}
CONF
  nginx_start
}

stop_nginx_cache() {
  [ -n "${NGINX_PID:-}" ] || return 0
  kill "$NGINX_PID" 2>/dev/null || true
  wait "$NGINX_PID" 2>/dev/null || true
  NGINX_PID=
}

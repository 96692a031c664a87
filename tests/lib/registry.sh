# registry.sh: a real docker-registry on 127.0.0.1 for tests (sourced
# after libtest.sh).  start_registry NAME [AUTH_YAML] sets $PORT and
# $REGISTRY_PID.
PY=${PY:-/usr/bin/python3}

free_port() {
  "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_http() { # url: until it answers 200 or 401 (10 s at most)
  "$PY" - "$1" <<'PYEOF' || fatal "nothing answers at $1"
import sys, time, urllib.error, urllib.request
for _ in range(100):
    try:
        urllib.request.urlopen(sys.argv[1], timeout=1)
        sys.exit(0)
    except urllib.error.HTTPError as e:
        if e.code == 401:
            sys.exit(0)
    except OSError:
        pass
    time.sleep(0.1)
sys.exit(1)
PYEOF
}

start_registry() {
  local name=$1 auth=${2:-}
  PORT=$(free_port)
  cat >"$T/$name.yml" <<YAML
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $T/$name-store
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$PORT
$auth
YAML
  docker-registry serve "$T/$name.yml" >"$T/$name.log" 2>&1 &
  REGISTRY_PID=$!
  at_exit "kill $REGISTRY_PID 2>/dev/null"
  wait_http "http://127.0.0.1:$PORT/v2/"
}

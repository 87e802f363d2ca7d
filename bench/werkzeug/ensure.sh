#!/bin/sh
# Makes sure Debian's python3-werkzeug is importable by /usr/bin/python3, the
# interpreter the benchmarks run Werkzeug with. As root it installs the
# package; otherwise it says how, and the Werkzeug figures are skipped.
set -eu
py=/usr/bin/python3
if [ -x "$py" ] && "$py" -c 'import werkzeug.debug' 2>/dev/null; then
	exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "bench: installing Debian's python3-werkzeug (the reference for the page and the console)" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null
	apt-get install -y -qq --no-install-recommends python3-werkzeug >/dev/null
	"$py" -c 'import werkzeug.debug' && exit 0
fi
echo "bench: no python3-werkzeug; install it (sudo apt-get install python3-werkzeug) for the Werkzeug figures" >&2
exit 0

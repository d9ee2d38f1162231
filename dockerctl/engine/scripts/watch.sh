# tfdev's watcher inside a container without python3: the same protocol
# as watch.py, by polling. The interval grows with the tree (one second
# per 2,000 files) so that the polling stays near 1% of a core; a flush
# request is answered within a second. find compares whole seconds: each
# scan looks for files newer than one second before the previous scan
# began, so nothing written between two scans is missed (a file may be
# reported twice: tfdev skips what it already has).
m=/tmp/.tfdev-poll-mark; fl=/tmp/.tfdev-poll-flush
prev=$(date -r /tmp/.tfdev-started +%s 2>/dev/null || date +%s) # from the container's start
touch "$m" || exit 3
rm -f "$fl"
n=$(for r in "$@"; do [ -d "$r" ] && find "$r" -type f; done | wc -l)
iv=$((1 + n / 2000))
scan() {
  now=$(date +%s)
  touch -d "@$((prev - 1))" "$m"
  prev=$now
  for r in "$@"; do
    [ -d "$r" ] && find "$r" -type f -newer "$m" ! -path "*/.ipynb_checkpoints/*" ! -name ".~*" -exec sha256sum {} + 2>/dev/null
  done | sed "s/^/c /"
}
echo ready
(
  while :; do
    i=0
    while [ "$i" -lt "$iv" ] && [ ! -e "$fl" ]; do sleep 1; i=$((i + 1)); done
    if [ -e "$fl" ]; then rm -f "$fl"; scan "$@"; echo f; else scan "$@"; echo e; fi
  done
) &
poller=$!
while read -r line; do touch "$fl"; done
kill "$poller"

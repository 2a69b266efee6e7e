# pt-online-schema-change itself, while the task reads the binlog: --recursion-method=none, or
# it would take the task's binlog connection for a replica and wait for it. The password goes
# in an option file, never on the command line.
set -euo pipefail
cnf="$(dirname "$0")/pt-osc.cnf"
umask 077
printf '[client]\npassword=%s\n' "$(cat '{source.password_file}')" > "$cnf"
pt-online-schema-change --recursion-method=none --chunk-size=50 --execute \
  --alter "ADD COLUMN note VARCHAR(20) NOT NULL DEFAULT 'n', ADD KEY qty_idx (qty)" \
  "F=$cnf,h=127.0.0.1,P={source.port},u={source.user},D={db},t=items"

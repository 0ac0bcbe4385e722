# Shell functions shared by every apply script. Values reach them only as quoted arguments.
LC_ALL=C; export LC_ALL
deploy_nl='
'; export deploy_nl

# deploy_write DEST MODE OWNER GROUP [VALIDATE_WORDS...]
# Replaces DEST atomically with the bytes on stdin. The temporary file lives in DEST's
# directory (so the rename is atomic), gets its owner and mode before the first byte of
# content (a secret is never readable by others, not even briefly), is fsynced, validated
# (VALIDATE_WORDS with %s standing for the temporary file), then renamed over DEST.
# An empty MODE keeps the existing file's mode, or gives a new file 0666 less the umask.
deploy_write() {
  _dw_dest=$1; _dw_mode=$2; _dw_owner=$3; _dw_group=$4; shift 4
  _dw_dir=$(dirname -- "$_dw_dest")
  # The shell's PID in the name: only temporaries of processes that are gone get cleaned.
  _dw_tmp=$(mktemp "$_dw_dir/.deploy-tmp.$$.XXXXXXXX") || return 1
  if [ -n "$_dw_owner" ]; then chown -- "$_dw_owner" "$_dw_tmp" || { rm -f -- "$_dw_tmp"; return 1; }
  elif [ -e "$_dw_dest" ]; then chown --reference="$_dw_dest" -- "$_dw_tmp" 2>/dev/null; fi
  if [ -n "$_dw_group" ]; then chgrp -- "$_dw_group" "$_dw_tmp" || { rm -f -- "$_dw_tmp"; return 1; }
  elif [ -e "$_dw_dest" ]; then chgrp --reference="$_dw_dest" -- "$_dw_tmp" 2>/dev/null; fi
  if [ -n "$_dw_mode" ]; then chmod -- "$_dw_mode" "$_dw_tmp"
  elif [ -e "$_dw_dest" ]; then chmod --reference="$_dw_dest" -- "$_dw_tmp"
  else chmod -- "$(printf '%o' $((0666 & ~$(umask))))" "$_dw_tmp"; fi || { rm -f -- "$_dw_tmp"; return 1; }
  cat > "$_dw_tmp" && sync -- "$_dw_tmp" || { rm -f -- "$_dw_tmp"; return 1; }
  if [ $# -gt 0 ]; then
    _dw_n=$#
    while [ "$_dw_n" -gt 0 ]; do
      _dw_word=$1; shift
      case $_dw_word in *%s*) _dw_word=$(printf '%s' "$_dw_word" | sed "s|%s|$(printf '%s' "$_dw_tmp" | sed 's/[|&\\]/\\&/g')|g");; esac
      set -- "$@" "$_dw_word"
      _dw_n=$((_dw_n - 1))
    done
    "$@" >&2
    _dw_rc=$?
    if [ "$_dw_rc" -ne 0 ]; then
      rm -f -- "$_dw_tmp"
      echo "validation failed (exit $_dw_rc): $*" | sed "s|$_dw_tmp|%s|g" >&2
      return 1
    fi
  fi
  mv -f -- "$_dw_tmp" "$_dw_dest" || { rm -f -- "$_dw_tmp"; return 1; }
}

# deploy_clean_temps DIR: removes temporary files left by an interrupted earlier run: those
# whose writer (the PID in their name) is gone. A write in flight elsewhere keeps its file.
deploy_clean_temps() {
  for _dc_f in "$1"/.deploy-tmp.*; do
    [ -e "$_dc_f" ] || [ -L "$_dc_f" ] || continue
    _dc_pid=${_dc_f##*/.deploy-tmp.}; _dc_pid=${_dc_pid%%.*}
    case $_dc_pid in ''|*[!0-9]*) ;; *) [ -d "/proc/$_dc_pid" ] && continue;; esac
    rm -f -- "$_dc_f"
  done
  return 0
}

# deploy_backup FILE
# Keeps a copy of FILE (a regular file; nothing to do otherwise) as
# FILE.PID.YYYY-MM-DD@HH:MM:SS~, Ansible's name for it, never over an earlier backup. The
# copy is made under a temporary name and renamed, so a backup is whole or absent.
deploy_backup() {
  [ -f "$1" ] && [ ! -L "$1" ] || return 0
  _db_stamp=$(date +%Y-%m-%d@%H:%M:%S); _db_name="$1.$$.$_db_stamp~"; _db_n=0
  while [ -e "$_db_name" ]; do _db_n=$((_db_n + 1)); _db_name="$1.$$.$_db_stamp.$_db_n~"; done
  _db_tmp=$(mktemp "$(dirname -- "$1")/.deploy-tmp.$$.XXXXXXXX") || return 1
  if cp -p -- "$1" "$_db_tmp" && mv -f -- "$_db_tmp" "$_db_name"; then
    printf 'backup_file: %s\n' "$_db_name"
  else
    rm -f -- "$_db_tmp"; return 1
  fi
}

# deploy_changed: a step calls this when it changed something on the host.
deploy_changed() { echo changed >&3; }

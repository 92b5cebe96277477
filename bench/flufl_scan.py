"""Reference for figure 5: flufl.bounce's scan_message over the same report files.

Usage: python flufl_scan.py ROUNDS FILELIST
Reads the file list (one path per line); each round reads and parses every file
(email.message_from_binary_file) and runs flufl.bounce.scan_message on it, as
`mailing-manager dsn parse` reads and classifies each file. Prints one line:
    FLUFL reports=N cpu_s=S reports_per_cpu_s=R addresses=A errors=E
CPU time is this process's own (time.process_time), so waiting for a core on a shared
machine does not count.
"""
import email
import sys
import time

from flufl.bounce import scan_message


def main():
    rounds = int(sys.argv[1])
    with open(sys.argv[2], encoding="utf-8") as f:
        files = [line.rstrip("\n") for line in f if line.strip()]
    addresses = errors = 0
    # Warm-up round (imports, detector setup), not counted.
    for path in files:
        with open(path, "rb") as fp:
            try:
                scan_message(email.message_from_binary_file(fp))
            except Exception:
                pass
    start = time.process_time()
    for _ in range(rounds):
        for path in files:
            with open(path, "rb") as fp:
                msg = email.message_from_binary_file(fp)
            try:
                addresses += len(scan_message(msg))
            except Exception:
                errors += 1
    cpu = time.process_time() - start
    n = rounds * len(files)
    print(
        f"FLUFL reports={n} cpu_s={cpu:.3f} reports_per_cpu_s={n / cpu:.1f} "
        f"addresses={addresses} errors={errors}"
    )


if __name__ == "__main__":
    main()

"""Run by test_fork.py in its own interpreter: fork() while a library thread sits in a slow
Python log callback right after a CA rotation (issue 11, item 1).

Usage: forking.py TARGET CA_DIR. The child makes a keepAlive with a 2 s deadline, replaces
the log callback, and exits normally (running the binding's atexit hook, which replaces
the callback once more). The parent prints the child's report and exit status."""

import os
import sys
import threading
import time

import swtls
from messages import ping  # this folder is sys.path[0]: the script runs from it

KEEP_ALIVE = "/skywalking.v3.ManagementService/keepAlive"
PING = ping("py", "child")


def main() -> int:
    target, ca_dir = sys.argv[1], sys.argv[2]
    entered = threading.Event()

    def slow(level, message):
        if "changed on disk" in message:
            entered.set()
            time.sleep(3)

    swtls.set_log_callback(slow, swtls.LogLevel.INFO)
    ch = swtls.Channel(swtls.Config(collector_backend_service=target, agent_ca_dir=ca_dir))
    with open(os.path.join(ca_dir, "ca.crt"), "a") as f:
        f.write("\n")  # same CA, other bytes: the first connection reloads and logs
    first = threading.Thread(target=lambda: ch.unary(KEEP_ALIVE, PING, timeout=10))
    first.start()
    if not entered.wait(10):
        print("parent: the reload was never logged")
        return 2
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        import signal

        signal.alarm(20)  # a hung child dies instead of hanging the test
        try:
            t0 = time.monotonic()
            ch.unary(KEEP_ALIVE, PING, timeout=2)
            took = time.monotonic() - t0
            t1 = time.monotonic()
            swtls.set_log_callback(lambda level, message: None, swtls.LogLevel.INFO)
            replaced = time.monotonic() - t1
            os.write(w, f"child: keepAlive ok in {took:.3f} s, callback replaced in {replaced:.3f} s\n".encode())
        except BaseException as e:  # report anything to the parent
            os.write(w, f"child: error {e!r}\n".encode())
            os._exit(1)
        os.close(w)
        sys.exit(0)  # a normal exit: atexit hooks run (the binding's replaces the callback)
    os.close(w)
    report = b""
    while True:
        chunk = os.read(r, 4096)
        if not chunk:
            break
        report += chunk
    _, status = os.waitpid(pid, 0)
    first.join()
    print(report.decode().strip())
    print(f"child exit: {os.waitstatus_to_exitcode(status)}")
    swtls.set_log_callback(None)
    ch.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""How long loading the settings takes (every daemon start and every snf-manage call pays it).

Prints figures; asserts nothing about time.
"""

import os
import statistics
import tempfile
import time

from synnefo.common import settings as loader


def main(files=20, rounds=50):
    with tempfile.TemporaryDirectory() as d:
        for i in range(files):
            with open(os.path.join(d, "%02d-bench.conf" % i), "w") as f:
                f.write("SETTING_%d = {'a': [1, 2, 3], 'b': 'x' * 10}\n" % i)
                f.write("AMQP_HOSTS = AMQP_HOSTS + ['amqp://node%d/']\n" % i)
        samples = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            loader.load(d)
            samples.append(time.perf_counter() - t0)
    print("settings load, %d conf files: median %.2f ms, p90 %.2f ms (%d rounds)"
          % (files, statistics.median(samples) * 1e3,
             sorted(samples)[int(rounds * 0.9) - 1] * 1e3, rounds))


if __name__ == "__main__":
    main()

"""The Python reference for the vectors row of `cargo xtask bench`: gensim's
`KeyedVectors.load_word2vec_format(path, binary=False)` on the same text file, timed, with
the process's peak memory. Prints one JSON line: {"seconds": s, "words": n, "peak_rss_kb": k}.

usage: vectors_ref.py FILE
"""
import json
import resource
import sys
import time

from gensim.models import KeyedVectors


def main():
    t0 = time.perf_counter()
    kv = KeyedVectors.load_word2vec_format(sys.argv[1], binary=False)
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": seconds, "words": len(kv.index_to_key), "peak_rss_kb": peak}))


if __name__ == "__main__":
    main()

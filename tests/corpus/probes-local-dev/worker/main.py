import argparse
import os
import pathlib
import time

HEARTBEAT = pathlib.Path("/tmp/hostdev-worker.heartbeat")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--queue", default="default")
    args = parser.parse_args()
    print(f"worker consuming {args.queue} from {os.environ.get('REDIS_URL')}")
    while True:
        HEARTBEAT.write_text(str(time.time()))
        time.sleep(2)


if __name__ == "__main__":
    main()

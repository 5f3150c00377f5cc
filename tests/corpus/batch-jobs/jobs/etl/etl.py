import csv
import io
import os

import boto3

s3 = boto3.client("s3", endpoint_url=os.environ["S3_ENDPOINT"], aws_access_key_id="minio",
                  aws_secret_access_key="minio-dev-password")


def main():
    raw = os.environ.get("RAW_BUCKET", "raw")
    totals = {}
    for obj in s3.list_objects_v2(Bucket=raw).get("Contents", []):
        body = s3.get_object(Bucket=raw, Key=obj["Key"])["Body"].read().decode()
        for row in csv.DictReader(io.StringIO(body)):
            totals[row["customer"]] = totals.get(row["customer"], 0) + int(row["total_cents"])
    print("customer totals:", totals)


if __name__ == "__main__":
    main()

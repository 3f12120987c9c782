"""A helper of tests/it/storage.rs: sets up and inspects a local S3-compatible server (moto's server mode).

    s3.py setup ENDPOINT BUCKET...   creates the buckets, a user allowed everything and one that may only
                                     read and list; prints KEY SECRET READER_KEY READER_SECRET
    s3.py get ENDPOINT BUCKET KEY OUT   writes the object to OUT (absent: exit 3)
    s3.py put ENDPOINT BUCKET KEY FILE
    s3.py list ENDPOINT BUCKET          prints the keys, one a line
    s3.py delete-all ENDPOINT BUCKET

`get`, `put` and `list` use AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY from the environment.
"""

import json
import sys

import boto3
import botocore


def client(endpoint, service="s3", key="testing", secret="testing"):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
    )


def main():
    command, endpoint = sys.argv[1], sys.argv[2]
    if command == "setup":
        s3 = client(endpoint)
        for bucket in sys.argv[3:]:
            s3.create_bucket(Bucket=bucket)
        iam = client(endpoint, "iam")
        keys = []
        for user, actions in (("exporter", "*"), ("reader", ["s3:GetObject", "s3:ListBucket"])):
            iam.create_user(UserName=user)
            policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}
            iam.put_user_policy(UserName=user, PolicyName="policy", PolicyDocument=json.dumps(policy))
            key = iam.create_access_key(UserName=user)["AccessKey"]
            keys += [key["AccessKeyId"], key["SecretAccessKey"]]
        print(*keys)
        return
    import os

    s3 = client(endpoint, key=os.environ["AWS_ACCESS_KEY_ID"], secret=os.environ["AWS_SECRET_ACCESS_KEY"])
    if command == "get":
        bucket, key, out = sys.argv[3:6]
        try:
            s3.download_file(bucket, key, out)
        except botocore.exceptions.ClientError as e:
            if e.response["Error"]["Code"] in ("404", "NoSuchKey"):
                sys.exit(3)
            raise
    elif command == "put":
        bucket, key, path = sys.argv[3:6]
        s3.upload_file(path, bucket, key)
    elif command == "delete-all":
        bucket = sys.argv[3]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for item in page.get("Contents", []):
                s3.delete_object(Bucket=bucket, Key=item["Key"])
    elif command == "list":
        bucket = sys.argv[3]
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        for page in pages:
            for item in page.get("Contents", []):
                print(item["Key"])
    else:
        sys.exit(f"unknown command {command}")


if __name__ == "__main__":
    main()

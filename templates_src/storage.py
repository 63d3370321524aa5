"""Storage: the S3 bucket behind Metaflow's datastore, data tools, cards and packages."""

from dataclasses import dataclass

from awacs import s3 as s3_actions
from awacs.aws import Bool, Condition, Deny, PolicyDocument, Principal, Statement
from troposphere import GetAtt, Ref, Sub, s3

from .base import Stack
from .iam import Grantee

RETAIN = {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}


@dataclass
class Storage:
    bucket: s3.Bucket

    @property
    def arn(self):
        return GetAtt(self.bucket, "Arn")

    def root(self, prefix: str) -> Sub:
        return Sub(f"s3://${{{self.bucket.title}}}/{prefix}")

    @property
    def datastore_root(self):
        return self.root("metaflow")

    @property
    def datatools_root(self):
        return self.root("data")

    @property
    def card_root(self):
        return self.root("metaflow/mf.cards")

    @property
    def package_root(self):
        return self.root("packages")

    @property
    def distributed_map_root(self):
        return self.root("sfn-map-output")

    def objects(self, prefix: str = "*") -> Sub:
        return Sub(f"${{{self.bucket.title}.Arn}}/{prefix}")

    def grant_read(self, role: Grantee, prefix: str = "*") -> None:
        role.allow([s3_actions.GetObject], [self.objects(prefix)])
        role.allow([s3_actions.ListBucket], [self.arn])

    def grant_read_write(self, role: Grantee, prefix: str = "*") -> None:
        role.allow(
            [s3_actions.GetObject, s3_actions.PutObject, s3_actions.DeleteObject],
            [self.objects(prefix)],
        )
        role.allow([s3_actions.ListBucket], [self.arn])


def add_storage(stack: Stack) -> Storage:
    t = stack.template
    bucket = t.add_resource(
        s3.Bucket(
            "DatastoreBucket",
            BucketEncryption=s3.BucketEncryption(
                ServerSideEncryptionConfiguration=[
                    s3.ServerSideEncryptionRule(
                        ServerSideEncryptionByDefault=s3.ServerSideEncryptionByDefault(
                            SSEAlgorithm="AES256"
                        ),
                    )
                ]
            ),
            PublicAccessBlockConfiguration=s3.PublicAccessBlockConfiguration(
                BlockPublicAcls=True,
                BlockPublicPolicy=True,
                IgnorePublicAcls=True,
                RestrictPublicBuckets=True,
            ),
            OwnershipControls=s3.OwnershipControls(
                Rules=[s3.OwnershipControlsRule(ObjectOwnership="BucketOwnerEnforced")]
            ),
            **RETAIN,
        )
    )
    t.add_resource(
        s3.BucketPolicy(
            "DatastoreBucketPolicy",
            Bucket=Ref(bucket),
            PolicyDocument=PolicyDocument(
                Version="2012-10-17",
                Statement=[
                    Statement(
                        Sid="TlsOnly",
                        Effect=Deny,
                        Principal=Principal("*"),
                        Action=[s3_actions.Action("*")],
                        Resource=[GetAtt(bucket, "Arn"), Sub("${DatastoreBucket.Arn}/*")],
                        Condition=Condition(Bool("aws:SecureTransport", "false")),
                    )
                ],
            ),
        )
    )
    return Storage(bucket)

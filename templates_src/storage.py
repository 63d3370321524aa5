"""Storage: the S3 bucket behind Metaflow's datastore, data tools, cards and packages."""

from dataclasses import dataclass

from awacs import kms as kms_actions
from awacs import s3 as s3_actions
from awacs.aws import Bool, Condition, Deny, PolicyDocument, Principal, Statement
from troposphere import GetAtt, Ref, Sub, s3

from .base import RETAIN, Stack, skip_checks, when
from .encryption import USE_KEY, Encryption
from .iam import Grantee

# Metaflow's datastore is content-addressed: an overwritten or deleted object is a mistake, so
# versioning keeps it this long before it goes.
NONCURRENT_DAYS = 30


@dataclass
class Storage:
    bucket: s3.Bucket
    encryption: Encryption

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
        self.encryption.grant_use(role, kms_actions.Decrypt)

    def grant_read_write(self, role: Grantee, prefix: str = "*") -> None:
        role.allow(
            [s3_actions.GetObject, s3_actions.PutObject, s3_actions.DeleteObject],
            [self.objects(prefix)],
        )
        role.allow([s3_actions.ListBucket], [self.arn])
        self.encryption.grant_use(role, kms_actions.Decrypt, kms_actions.GenerateDataKey)


def add_storage(stack: Stack, encryption: Encryption) -> Storage:
    t = stack.template
    bucket = t.add_resource(
        s3.Bucket(
            "DatastoreBucket",
            BucketEncryption=s3.BucketEncryption(
                ServerSideEncryptionConfiguration=[
                    s3.ServerSideEncryptionRule(
                        ServerSideEncryptionByDefault=s3.ServerSideEncryptionByDefault(
                            # Without a customer key, KMS uses the AWS-managed aws/s3 key.
                            SSEAlgorithm="aws:kms",
                            KMSMasterKeyID=when(USE_KEY, encryption.key_arn),
                        ),
                        # One data key per bucket instead of per object: far fewer KMS calls.
                        BucketKeyEnabled=True,
                    )
                ]
            ),
            VersioningConfiguration=s3.VersioningConfiguration(Status="Enabled"),
            LifecycleConfiguration=s3.LifecycleConfiguration(
                Rules=[
                    s3.LifecycleRule(
                        Id="ExpireOldVersions",
                        Status="Enabled",
                        NoncurrentVersionExpirationInDays=NONCURRENT_DAYS,
                        AbortIncompleteMultipartUpload=s3.AbortIncompleteMultipartUpload(
                            DaysAfterInitiation=7
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
    skip_checks(
        bucket,
        CKV_AWS_18="Use CloudTrail data events; a log bucket needs its own",
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
    return Storage(bucket, encryption)

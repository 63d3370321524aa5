"""Encryption: an optional customer-managed KMS key for the stack's data at rest.

`EncryptionKey` empty: every store uses its service's AWS-managed key. `create`: the stack creates a
key with yearly rotation (kept when the stack is deleted, like the data it protects). A key ARN:
that key, whose policy must let this account's IAM policies use it and CloudWatch Logs encrypt with
it (see README).
"""

from dataclasses import dataclass

from awacs import kms as kms_actions
from awacs.aws import Allow, ArnLike, Condition, PolicyDocument, Principal, Statement
from troposphere import Equals, GetAtt, If, Not, Sub, kms

from .base import RETAIN, Stack
from .iam import Grantee

USE_KEY = "UseKmsKey"
CREATE_KEY = "NewKmsKey"
# The skip reason for checks that demand a customer key, which the parameter may leave off.
KEY_BY_PARAMETER = "The CMK is optional (EncryptionKey)"


@dataclass
class Encryption:
    key_arn: object

    def grant_use(self, role: Grantee, *actions) -> None:
        """`role` may use the customer key (when there is one) for `actions`."""
        role.allow(actions, [self.key_arn], only_if=USE_KEY)


def add_encryption(stack: Stack) -> Encryption:
    choice = stack.parameter(
        "Access",
        "EncryptionKey",
        "Customer-managed KMS key",
        Type="String",
        Default="",
        AllowedPattern=r"^(create|arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[a-f0-9-]+)?$",
        Description="Empty: AWS-managed keys. 'create': a new rotated key. Or a key ARN.",
    )
    stack.condition(USE_KEY, Not(Equals(choice, "")))
    stack.condition(CREATE_KEY, Equals(choice, "create"))
    logs = Sub("logs.${AWS::Region}.amazonaws.com")
    key = stack.template.add_resource(
        kms.Key(
            "CustomerKey",
            Condition=CREATE_KEY,
            EnableKeyRotation=True,
            KeyPolicy=PolicyDocument(
                Version="2012-10-17",
                Statement=[
                    # Who may use the key is decided by IAM policies in this account.
                    Statement(
                        Effect=Allow,
                        Principal=Principal(
                            "AWS", Sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")
                        ),
                        Action=[kms_actions.Action("*")],
                        Resource=["*"],
                    ),
                    Statement(
                        Effect=Allow,
                        Principal=Principal("Service", logs),
                        Action=[
                            kms_actions.Encrypt,
                            kms_actions.Decrypt,
                            kms_actions.GenerateDataKey,
                            kms_actions.Action("ReEncrypt*"),
                            kms_actions.DescribeKey,
                        ],
                        Resource=["*"],
                        Condition=Condition(
                            ArnLike(
                                "kms:EncryptionContext:aws:logs:arn",
                                Sub(
                                    "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:"
                                    "log-group:*"
                                ),
                            )
                        ),
                    ),
                ],
            ),
            **RETAIN,
        )
    )
    return Encryption(If(CREATE_KEY, GetAtt(key, "Arn"), choice))

"""A flow that runs every day at 06:00 UTC once deployed to Step Functions:

    python examples/scheduled_flow.py step-functions create

@schedule becomes an EventBridge rule that starts the state machine; each step runs on AWS Batch.
"""

from datetime import UTC, datetime

from metaflow import FlowSpec, schedule, step


@schedule(cron="0 6 * * ? *")
class ScheduledFlow(FlowSpec):
    @step
    def start(self):
        self.started_at = datetime.now(UTC).isoformat()
        self.next(self.end)

    @step
    def end(self):
        print(f"started at {self.started_at}")


if __name__ == "__main__":
    ScheduledFlow()

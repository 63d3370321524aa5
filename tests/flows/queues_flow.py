"""The README's queue example: a sweep step on the bulk queue, a training step on the GPU queue,
the rest on the default one. The queues come from the environment, as a user pastes the outputs."""

import os

from metaflow import FlowSpec, batch, step


class QueuesFlow(FlowSpec):
    @batch(cpu=1, memory=2000, queue=os.environ.get("BULK_QUEUE"))
    @step
    def start(self):
        self.next(self.train)

    @batch(gpu=1, cpu=4, memory=16000, queue=os.environ.get("GPU_QUEUE"))
    @step
    def train(self):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    QueuesFlow()

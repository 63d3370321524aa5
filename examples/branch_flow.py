"""A flow with a branch and a join: two steps run side by side on the same input, a join combines
them. `make demo` runs it against the emulated stack; it runs unchanged against AWS.

    python examples/branch_flow.py run
"""

from metaflow import FlowSpec, Parameter, step


class BranchFlow(FlowSpec):
    numbers = Parameter("numbers", help="Comma-separated integers", default="3,1,4,1,5,9,2,6")

    @step
    def start(self):
        self.values = [int(n) for n in self.numbers.split(",")]
        self.next(self.total, self.largest)

    @step
    def total(self):
        self.result = sum(self.values)
        self.next(self.join)

    @step
    def largest(self):
        self.result = max(self.values)
        self.next(self.join)

    @step
    def join(self, inputs):
        self.summary = {"total": inputs.total.result, "largest": inputs.largest.result}
        self.next(self.end)

    @step
    def end(self):
        print(f"total={self.summary['total']} largest={self.summary['largest']}")


if __name__ == "__main__":
    BranchFlow()

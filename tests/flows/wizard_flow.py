"""A small flow for the wizard's proof: its artifacts must land in the stack's datastore.

python tests/flows/wizard_flow.py --metadata=local run --numbers 3,1,4
"""

from metaflow import FlowSpec, Parameter, step


class WizardFlow(FlowSpec):
    numbers = Parameter("numbers", default="1,2,3")

    @step
    def start(self):
        self.values = [int(n) for n in self.numbers.split(",")]
        self.next(self.square, foreach="values")

    @step
    def square(self):
        self.squared = self.input**2
        self.next(self.join)

    @step
    def join(self, inputs):
        self.total = sum(i.squared for i in inputs)
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    WizardFlow()

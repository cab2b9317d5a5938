from catalog.core import Catalog


def test_example_owner_answer(example_catalog: Catalog) -> None:
    answer = example_catalog.ask("who owns payments-service?")
    assert answer.status == "answered"
    assert answer.owner is not None and answer.owner.ref == "group:default/payments"

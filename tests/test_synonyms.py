"""Other words for what the catalog says (catalog/search/synonyms.py), over the example organisation.

Why: engineers say "typeahead", "k8s" or "billing" for what a catalog entry calls "Type-ahead",
"Kubernetes" or "invoicing". Another spelling answers, a merely related word is only offered, and
either way the answer says how it read the question: a confident wrong answer costs more trust
than a question back.
"""

from __future__ import annotations

from catalog.core import Catalog


def test_another_spelling_answers_and_says_how_the_question_was_read(example_catalog: Catalog) -> None:
    answer = example_catalog.ask("who owns typeahead")  # the service says "Type-ahead suggestions"
    assert answer.status == "answered" and answer.subject is not None
    assert answer.subject.ref == "component:default/autocomplete-service"
    assert "reading 'typeahead' as type ahead" in answer.text


def test_a_related_word_is_offered_never_answered(example_catalog: Catalog) -> None:
    for question, offered in [("who owns billing", "invoicing-service"), ("who owns coupons", "promotions-engine")]:
        answer = example_catalog.ask(question)
        assert answer.status == "not_found", answer.text
        assert answer.candidates and answer.candidates[0].name == offered, answer.text
        assert answer.text.startswith(f"Nothing in the catalog is called '{question.split()[-1]}'.\nReading '{question.split()[-1]}' as "), answer.text


def test_the_questions_own_words_come_first(example_catalog: Catalog) -> None:
    answer = example_catalog.ask("who handles vouchers")  # the promotions engine says "vouchers" itself
    assert answer.status == "answered" and answer.subject is not None and answer.subject.name == "promotions-engine"
    assert "reading" not in answer.text


def test_a_name_spelt_another_way_is_found(example_catalog: Catalog) -> None:
    """Not resource catalog-db, two letters off "catalogue" (a typo of another kind than the "service" asked for),
    nor search-indexer, whose description mentions "catalogue change events"."""
    for question in ("which team owns the catalogue service", "is the catalogue service deprecated?"):
        answer = example_catalog.ask(question)
        assert answer.subject is not None and answer.subject.ref == "component:default/product-catalog-service", answer.text

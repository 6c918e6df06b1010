"""Benchmark: name-matching quality of screening against nomenklatura, in one run.

    .venv/bin/python bench/screening_quality.py [--threshold 0.8]

Builds a labelled set of (query, list entry, is-a-match) pairs: true matches written
with transliterations (Cyrillic, Greek, Arabic, Ukrainian, Bulgarian), reordered
tokens, missing middle names, typos, initials, legal forms and split compounds; hard
negatives sharing a surname or a given name, or the same name with another birth year,
and companies sharing a word. Scores every pair with screening.matching (at the
default threshold) and with every nomenklatura algorithm (at its usual 0.7), and
prints precision, recall and F1 of each; nomenklatura's best (by F1) is the anchor.
No database is needed. nomenklatura is a dev dependency (requirements-dev.txt).
"""

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from screening.matching import DEFAULT_THRESHOLD, Subject, compare  # noqa: E402

NOMENKLATURA_THRESHOLD = 0.7


@dataclass(frozen=True)
class Side:
    schema: str
    name: str
    birth_date: str = ""
    country: str = ""
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Case:
    kind: str
    query: Side
    entry: Side
    match: bool


def P(name: str, birth: str = "", country: str = "", *aliases: str) -> Side:
    return Side("Person", name, birth, country, aliases)


def C(name: str, country: str = "", *aliases: str) -> Side:
    return Side("Company", name, "", country, aliases)


CASES: tuple[Case, ...] = (
    # transliterations: the list writes the name in its own script
    Case("cyrillic", P("Sergey Ivanovich Petrov"), P("Сергей Иванович Петров"), True),
    Case("cyrillic", P("Sergei Petrov", "1970-05-12"), P("Петров Сергей", "1970-05-12"), True),
    Case("cyrillic", P("Aleksandr Lukashenko"), P("Александр Лукашенко"), True),
    Case("cyrillic", P("Alexander Lukashenka"), P("Аляксандр Лукашэнка"), True),
    Case("cyrillic", P("Yevgeny Prigozhin"), P("Евгений Пригожин"), True),
    Case("cyrillic", P("Volodymyr Zelenskyy"), P("Володимир Зеленський"), True),
    Case("cyrillic", P("Dmitry Medvedev", "1965-09-14"), P("Дмитрий Медведев", "1965"), True),
    Case("cyrillic", P("Igor Sechin"), P("Игорь Сечин"), True),
    Case("greek", P("Georgios Papadopoulos"), P("Γιώργος Παπαδόπουλος"), True),
    Case("greek", P("Konstantinos Nikolaou"), P("Κωνσταντίνος Νικολάου"), True),
    Case("greek", P("Dimitris Christodoulou"), P("Δημήτρης Χριστοδούλου"), True),
    Case("arabic", P("Mohammed bin Salman"), P("محمد بن سلمان"), True),
    Case("arabic", P("Muammar Qaddafi"), P("معمر القذافي"), True),
    Case("arabic", P("Bashar al-Assad"), P("بشار الأسد"), True),
    Case("bulgarian", P("Delyan Peevski"), P("Делян Пеевски"), True),
    # token order
    Case("order", P("Petrov Sergey"), P("Sergey Petrov"), True),
    Case("order", P("Kim Jong Un"), P("Jong Un Kim"), True),
    Case("order", P("Li Wei Zhang"), P("Zhang Li Wei"), True),
    # missing middle names
    Case("middle", P("Vladimir Putin"), P("Vladimir Vladimirovich Putin"), True),
    Case("middle", P("Roman Abramovich"), P("Roman Arkadyevich Abramovich"), True),
    Case("middle", P("Maria Elena Garcia Lopez"), P("Maria Garcia Lopez"), True),
    # typos and spelling variants
    Case("typo", P("Vladimir Puttin"), P("Vladimir Putin"), True),
    Case("typo", P("Osama bin Ladin"), P("Usama bin Laden"), True),
    Case("typo", P("Alisher Usmanov"), P("Alisher Usmanow"), True),
    Case("typo", P("Oleg Deripaska"), P("Oleg Derispaka"), True),
    Case("typo", P("Viktor Vekselberg"), P("Victor Vekselberg"), True),
    Case("typo", P("Gennady Timchenko"), P("Gennadiy Timchenko"), True),
    Case("typo", P("Mikhail Fridman"), P("Michail Friedman"), True),
    # initials
    Case("initials", P("V. Putin"), P("Vladimir Putin"), True),
    Case("initials", P("S. I. Petrov"), P("Sergey Ivanovich Petrov"), True),
    Case("initials", P("J. Smith", "1980-01-02"), P("John Smith", "1980-01-02"), True),
    # companies: legal forms, scripts, compounds
    Case("legal-form", C("Romashka LLC"), C("ООО Ромашка"), True),
    Case("legal-form", C("Gazprom PJSC"), C("ПАО Газпром"), True),
    Case("legal-form", C("Rosneft Oil Company"), C("Rosneft Oil Company OAO"), True),
    Case("legal-form", C("Siemens AG"), C("Siemens Aktiengesellschaft"), True),
    Case("legal-form", C("Acme Trading Limited"), C("ACME TRADING LTD."), True),
    Case("legal-form", C("Sberbank of Russia"), C("Sberbank of Russia PJSC"), True),
    Case("compound", C("Rosoboron Export"), C("Rosoboronexport"), True),
    Case("compound", C("Almaz-Antey"), C("Almaz Antey JSC"), True),
    Case("typo", C("Wagner Group"), C("Vagner Group"), True),
    # hard negatives: a shared surname
    Case("same-surname", P("Ivan Petrov"), P("Sergey Petrov"), False),
    Case("same-surname", P("Maria Papadopoulou"), P("Georgios Papadopoulos"), False),
    Case("same-surname", P("Anna Lukashenko"), P("Aleksandr Lukashenko"), False),
    Case("same-surname", P("Olga Medvedeva"), P("Dmitry Medvedev"), False),
    Case("same-surname", P("Boris Abramovich"), P("Roman Arkadyevich Abramovich"), False),
    Case("same-surname", P("Peter Smith"), P("John Smith"), False),
    Case("same-surname", P("Hafez al-Assad"), P("Bashar al-Assad"), False),
    # hard negatives: a shared given name
    Case("same-given", P("Sergey Ivanov"), P("Sergey Petrov"), False),
    Case("same-given", P("Mohammed bin Rashid"), P("Mohammed bin Salman"), False),
    Case("same-given", P("Vladimir Potanin"), P("Vladimir Putin"), False),
    Case("same-given", P("Vladimir Zhirinovsky"), P("Vladimir Vladimirovich Putin"), False),
    Case("same-given", P("Roman Romanenko"), P("Roman Abramovich"), False),
    Case("same-given", P("Georgios Nikolaou"), P("Georgios Papadopoulos"), False),
    Case("same-given", P("Oleg Tinkov"), P("Oleg Deripaska"), False),
    # hard negatives: close spellings of another name
    Case("similar", P("Ivan Petrenko"), P("Ivan Petrov"), False),
    Case("similar", P("Igor Sechkin"), P("Igor Sechin"), False),
    Case("similar", P("Alexei Navalny"), P("Alexei Novikov"), False),
    # hard negatives: the same name, another birth year
    Case("birth-year", P("Sergey Petrov", "1985-03-01"), P("Sergey Petrov", "1970-05-12"), False),
    Case("birth-year", P("John Smith", "1990-07-07"), P("John Smith", "1962"), False),
    Case("birth-year", P("Ali Hassan", "2001-01-01"), P("علي حسن", "1958"), False),
    Case("birth-year", P("Igor Sechin", "1988-09-07"), P("Игорь Сечин", "1960-09-07"), False),
    # hard negatives: companies sharing a word
    Case("company-word", C("Alpha Bank"), C("Alpha Capital Partners"), False),
    Case("company-word", C("Romashka Trading"), C("Lilia Trading"), False),
    Case("company-word", C("Gazprom Neft"), C("Gazprombank"), False),
    Case("company-word", C("Siemens Energy"), C("Siemens Healthineers"), False),
    Case("company-word", C("Acme Trading Limited"), C("Apex Trading Limited"), False),
    # persons are not companies
    Case("schema", P("Wagner Group"), C("Wagner Group"), False),
)


def subject(side: Side) -> Subject:
    return Subject.build(
        schema=side.schema,
        names=(side.name, *side.aliases),
        birth_dates=(side.birth_date,) if side.birth_date else (),
        countries=(side.country,) if side.country else (),
    )


def our_score(case: Case) -> float:
    match = compare(subject(case.query), subject(case.entry))
    return match.score if match else 0.0


@dataclass(frozen=True)
class Quality:
    name: str
    threshold: float
    tp: int
    fp: int
    fn: int
    misses: tuple[str, ...]

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def line(self) -> str:
        return (
            f"{self.name:<22} threshold {self.threshold:.2f}  precision {self.precision:.3f}  "
            f"recall {self.recall:.3f}  F1 {self.f1:.3f}  (TP {self.tp}, FP {self.fp}, "
            f"FN {self.fn})"
        )


def evaluate(name: str, scores: list[float], threshold: float) -> Quality:
    tp = fp = fn = 0
    misses = []
    for case, score in zip(CASES, scores, strict=True):
        hit = score >= threshold
        if hit and case.match:
            tp += 1
        elif hit:
            fp += 1
            misses.append(f"FP {case.kind}: {case.query.name} ~ {case.entry.name} {score:.2f}")
        elif case.match:
            fn += 1
            misses.append(f"FN {case.kind}: {case.query.name} ~ {case.entry.name} {score:.2f}")
    return Quality(name, threshold, tp, fp, fn, tuple(misses))


def ours(threshold: float = DEFAULT_THRESHOLD) -> Quality:
    return evaluate("screening", [our_score(case) for case in CASES], threshold)


def nomenklatura_all() -> list[Quality]:
    from followthemoney import model
    from followthemoney.exc import InvalidData
    from nomenklatura.matching import ALGORITHMS

    def entity(side: Side, key: str) -> object:
        proxy = model.make_entity(side.schema)
        proxy.id = key
        proxy.add("name", side.name)
        for alias in side.aliases:
            proxy.add("alias", alias)
        if side.birth_date:
            proxy.add("birthDate", side.birth_date)
        if side.country:
            proxy.add("country", side.country)
        return proxy

    results = []
    for algorithm in ALGORITHMS:
        config = algorithm.default_config()
        scores = []
        for number, case in enumerate(CASES):
            query = entity(case.query, f"q{number}")
            entry = entity(case.entry, f"e{number}")
            try:
                score = algorithm.compare(query, entry, config).score  # type: ignore[arg-type]
            except InvalidData:  # a person against a company: no common schema
                score = 0.0
            scores.append(score)
        results.append(evaluate(f"nomenklatura {algorithm.NAME}", scores, NOMENKLATURA_THRESHOLD))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    parser.add_argument("--verbose", action="store_true", help="list every miss")
    args = parser.parse_args()
    positives = sum(1 for case in CASES if case.match)
    print(
        f"{len(CASES)} labelled pairs: {positives} true matches, "
        f"{len(CASES) - positives} hard negatives"
    )
    mine = ours(args.threshold)
    others = nomenklatura_all()
    for quality in (mine, *others):
        print(quality.line())
        if args.verbose or quality is mine:
            for miss in quality.misses:
                print("    " + miss)
    best = max(others, key=lambda quality: quality.f1)
    print(f"best nomenklatura: {best.name} F1 {best.f1:.3f}; screening F1 {mine.f1:.3f}")
    goal = mine.recall >= 0.95 and mine.precision >= 0.90 and mine.f1 >= best.f1
    print(
        "goal (recall >= 0.95, precision >= 0.90, F1 >= nomenklatura's best):",
        "met" if goal else "NOT met",
    )


if __name__ == "__main__":
    main()

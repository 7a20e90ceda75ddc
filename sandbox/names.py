"""Names for the sandbox's people: Chinese names in Chinese characters, as a resident ID card
carries them, with their Hanyu Pinyin where a Latin form is needed (the demo's who-is-who, a log).

Common surnames and given names, each with its pinyin; a name is a surname followed by a given name
(徐敏, Xu Min)."""

import random
from dataclasses import dataclass

SURNAMES: tuple[tuple[str, str], ...] = (
    ("王", "Wang"),
    ("李", "Li"),
    ("张", "Zhang"),
    ("刘", "Liu"),
    ("陈", "Chen"),
    ("杨", "Yang"),
    ("黄", "Huang"),
    ("赵", "Zhao"),
    ("吴", "Wu"),
    ("周", "Zhou"),
    ("徐", "Xu"),
    ("孙", "Sun"),
    ("马", "Ma"),
    ("朱", "Zhu"),
    ("胡", "Hu"),
    ("郭", "Guo"),
    ("何", "He"),
    ("林", "Lin"),
    ("罗", "Luo"),
    ("高", "Gao"),
)
GIVEN_NAMES: tuple[tuple[str, str], ...] = (
    ("伟", "Wei"),
    ("芳", "Fang"),
    ("娜", "Na"),
    ("敏", "Min"),
    ("静", "Jing"),
    ("磊", "Lei"),
    ("强", "Qiang"),
    ("艳", "Yan"),
    ("军", "Jun"),
    ("勇", "Yong"),
    ("杰", "Jie"),
    ("涛", "Tao"),
    ("明", "Ming"),
    ("超", "Chao"),
    ("秀英", "Xiuying"),
    ("华", "Hua"),
    ("平", "Ping"),
    ("刚", "Gang"),
    ("辉", "Hui"),
    ("玲", "Ling"),
)
_PINYIN_OF_SURNAME = dict(SURNAMES)
_PINYIN_OF_GIVEN = dict(GIVEN_NAMES)


@dataclass(frozen=True)
class ChineseName:
    hanzi: str
    pinyin: str

    def __str__(self) -> str:
        return self.hanzi


def random_name(rng: random.Random) -> ChineseName:
    surname, surname_pinyin = rng.choice(SURNAMES)
    given, given_pinyin = rng.choice(GIVEN_NAMES)
    return ChineseName(surname + given, f"{surname_pinyin} {given_pinyin}")


def numbered_name(index: int) -> ChineseName:
    """Person number ``index``'s name, the same every time (the bulk population's)."""
    surname, surname_pinyin = SURNAMES[index % len(SURNAMES)]
    given, given_pinyin = GIVEN_NAMES[(index // len(SURNAMES)) % len(GIVEN_NAMES)]
    return ChineseName(surname + given, f"{surname_pinyin} {given_pinyin}")


def pinyin(name: str) -> str | None:
    """The pinyin of a name built from these tables (surname, then given name), else None."""
    surname = _PINYIN_OF_SURNAME.get(name[:1])
    given = _PINYIN_OF_GIVEN.get(name[1:])
    if surname is None or given is None:
        return None
    return f"{surname} {given}"

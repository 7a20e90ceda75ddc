"""Names for the sandbox's people: Chinese names in Chinese characters, as a resident ID card
carries them, with their Hanyu Pinyin where a Latin form is needed (the demo's who-is-who, a log).

Common surnames and given names, each with its pinyin; a name is a surname followed by a given name
(徐敏, Xu Min). A given name fits the person's sex where one is asked for: 刚 is a man's, 静 a
woman's, 华 and 平 either's."""

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
MEN_GIVEN_NAMES: tuple[tuple[str, str], ...] = (
    ("伟", "Wei"),
    ("磊", "Lei"),
    ("强", "Qiang"),
    ("军", "Jun"),
    ("勇", "Yong"),
    ("杰", "Jie"),
    ("涛", "Tao"),
    ("明", "Ming"),
    ("超", "Chao"),
    ("刚", "Gang"),
    ("辉", "Hui"),
)
WOMEN_GIVEN_NAMES: tuple[tuple[str, str], ...] = (
    ("芳", "Fang"),
    ("娜", "Na"),
    ("敏", "Min"),
    ("静", "Jing"),
    ("艳", "Yan"),
    ("秀英", "Xiuying"),
    ("玲", "Ling"),
)
EITHER_GIVEN_NAMES: tuple[tuple[str, str], ...] = (("华", "Hua"), ("平", "Ping"))
GIVEN_NAMES = MEN_GIVEN_NAMES + WOMEN_GIVEN_NAMES + EITHER_GIVEN_NAMES
_GIVEN_NAMES_OF_SEX = {
    "M": MEN_GIVEN_NAMES + EITHER_GIVEN_NAMES,
    "F": WOMEN_GIVEN_NAMES + EITHER_GIVEN_NAMES,
}
_PINYIN_OF_SURNAME = dict(SURNAMES)
_PINYIN_OF_GIVEN = dict(GIVEN_NAMES)


@dataclass(frozen=True)
class ChineseName:
    hanzi: str
    pinyin: str

    def __str__(self) -> str:
        return self.hanzi


def random_name(rng: random.Random, sex: str | None = None) -> ChineseName:
    """A surname and a given name that fits ``sex`` ("M" or "F"; any given name without one)."""
    surname, surname_pinyin = rng.choice(SURNAMES)
    given, given_pinyin = rng.choice(_GIVEN_NAMES_OF_SEX.get(sex, GIVEN_NAMES))
    return ChineseName(surname + given, f"{surname_pinyin} {given_pinyin}")


def numbered_name(index: int, sex: str | None = None) -> ChineseName:
    """Person number ``index``'s name, the same every time (the bulk population's), with a given
    name that fits ``sex`` when one is given."""
    given_names = _GIVEN_NAMES_OF_SEX.get(sex, GIVEN_NAMES)
    surname, surname_pinyin = SURNAMES[index % len(SURNAMES)]
    given, given_pinyin = given_names[(index // len(SURNAMES)) % len(given_names)]
    return ChineseName(surname + given, f"{surname_pinyin} {given_pinyin}")


def pinyin(name: str) -> str | None:
    """The pinyin of a name built from these tables (surname, then given name), else None."""
    surname = _PINYIN_OF_SURNAME.get(name[:1])
    given = _PINYIN_OF_GIVEN.get(name[1:])
    if surname is None or given is None:
        return None
    return f"{surname} {given}"

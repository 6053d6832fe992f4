"""What residents write: short Vietnamese descriptions per category, addresses in the forms
people use, and reporter identities that are obviously fake.

Strings are built by indexing small tables of pieces and concatenating object arrays, so a
million addresses cost a few array operations, not a million format calls.

Street names are real Huế streets but are not placed (no street data is available): an
address's street is plausible for the city, not the street at the report's point. Commune
names are the ones in use at the report's date: the pre-2025 name (as the gazetteer lists
it), and after the reform of 1 July 2025 usually the new ward's name, sometimes still the old.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from gis_service.reports.importing.format import MEDIA_SEPARATOR
from gis_service.synthetic.mix import ALIASES

ObjectArray = npt.NDArray[np.object_]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Recognisable fakes, for the privacy checks that crawl public outputs (issue 7).
FAKE_NAME_PREFIX = "Cư dân thử nghiệm "
FAKE_PHONE_PREFIX = "0900"
FAKE_EMAIL_DOMAIN = "example.invalid"
FAKE_EMAIL_PREFIX = "resident+"
MEDIA_BASE_URL = "https://media.example.invalid/synthetic/"

DESCRIPTIONS: dict[str, tuple[str, ...]] = {
    "sanitation": (
        "Rác thải tập kết bừa bãi ven đường, bốc mùi hôi.",
        "Điểm tập kết rác chưa được thu gom nhiều ngày.",
        "Người dân đổ rác, xà bần xuống lề đường.",
        "Thùng rác công cộng đầy, rác tràn ra ngoài.",
    ),
    "urban_order": (
        "Hàng quán lấn chiếm vỉa hè, người đi bộ phải đi xuống lòng đường.",
        "Buôn bán lấn chiếm lòng đường gây ùn tắc.",
        "Dựng mái che, bày hàng hóa ra hết vỉa hè.",
        "Xe máy đậu tràn lan trên vỉa hè trước cửa hàng.",
    ),
    "roads": (
        "Mặt đường xuất hiện ổ gà lớn, nguy hiểm cho xe máy.",
        "Đường bị sụt lún, đọng nước sau mưa.",
        "Mặt đường bong tróc nhiều đoạn, đi lại khó khăn.",
        "Hố ga bị vỡ nắp giữa đường.",
    ),
    "street_lights": (
        "Đèn đường không sáng nhiều đêm liền.",
        "Cả dãy đèn chiếu sáng bị hỏng, đường tối om.",
        "Cột đèn bị nghiêng, có nguy cơ đổ.",
        "Đèn đường bật sáng cả ban ngày.",
    ),
    "drainage": (
        "Cống thoát nước bị tắc, nước ngập sau mưa.",
        "Mương thoát nước đầy rác, nước đen bốc mùi.",
        "Nước ngập sâu trên đường, không thoát được.",
        "Nắp cống bị mất, rất nguy hiểm.",
    ),
    "trees": (
        "Cây xanh bị gãy cành, đè lên đường.",
        "Cây nghiêng sát nhà dân, có nguy cơ đổ khi mưa bão.",
        "Cành cây che khuất đèn đường và biển báo.",
        "Cây bật gốc sau mưa lớn.",
    ),
    "construction": (
        "Công trình xây dựng để vật liệu tràn ra đường.",
        "Thi công ban đêm gây ồn, bụi.",
        "Xây dựng không phép, lấn ra phần đất công.",
        "Xe chở vật liệu làm rơi vãi đất cát trên đường.",
    ),
    "noise": (
        "Quán karaoke hát lớn đến khuya.",
        "Loa kẹo kéo mở công suất lớn gây ồn ào.",
        "Cơ sở sản xuất gây tiếng ồn kéo dài.",
        "Tụ tập nhậu nhẹt gây ồn ào sau 22 giờ.",
    ),
    "water_supply": (
        "Mất nước sinh hoạt từ sáng đến giờ.",
        "Đường ống nước bị vỡ, nước chảy lênh láng.",
        "Nước máy có màu đục, mùi lạ.",
        "Áp lực nước yếu, không lên được bồn.",
    ),
    "electricity": (
        "Mất điện nhiều giờ không báo trước.",
        "Dây điện bị đứt, võng thấp sát mặt đường.",
        "Trạm biến áp phát ra tiếng nổ, có tia lửa.",
        "Điện chập chờn, hư hỏng thiết bị trong nhà.",
    ),
    "public_health": (
        "Nhiều lăng quăng, muỗi trong khu dân cư, lo ngại sốt xuất huyết.",
        "Xác động vật chết bốc mùi chưa được xử lý.",
        "Nước đọng lâu ngày trong khu đất trống.",
        "Cơ sở kinh doanh thực phẩm mất vệ sinh.",
    ),
    "traffic_safety": (
        "Biển báo giao thông bị đổ, che khuất.",
        "Đèn tín hiệu giao thông tại ngã tư không hoạt động.",
        "Đoạn đường cua thiếu biển cảnh báo, hay xảy ra va chạm.",
        "Xe tải đậu chiếm làn đường, che tầm nhìn.",
    ),
    "heritage": (
        "Tường thành di tích bị xuống cấp, có chỗ sụt lở.",
        "Có người viết vẽ bậy lên di tích.",
        "Cây dại mọc trên tường thành, chưa được phát quang.",
        "Xây dựng trái phép trong khu vực bảo vệ di tích.",
    ),
    "other": (
        "Phản ánh tình trạng mất trật tự trong khu dân cư.",
        "Chó thả rông không rọ mõm gây nguy hiểm.",
        "Đề nghị lắp đặt thêm gương cầu lồi tại đầu kiệt.",
        "Đề nghị chính quyền kiểm tra, xử lý.",
    ),
}
SUFFIXES = ("", " Đề nghị xử lý sớm.", " Mong cơ quan chức năng kiểm tra.",
            " Tình trạng này kéo dài nhiều ngày.", " Xin cảm ơn.")
STREETS = (
    "Lê Lợi", "Hùng Vương", "Trần Hưng Đạo", "Nguyễn Huệ", "Bà Triệu", "Điện Biên Phủ",
    "Phan Đình Phùng", "Lê Duẩn", "Nguyễn Trãi", "Đinh Tiên Hoàng", "Mai Thúc Loan", "Chi Lăng",
    "Nguyễn Sinh Cung", "Phạm Văn Đồng", "Tố Hữu", "An Dương Vương", "Trường Chinh", "Ngự Bình",
    "Nguyễn Lộ Trạch", "Phan Chu Trinh", "Lý Thường Kiệt", "Hai Bà Trưng", "Nguyễn Chí Thanh",
    "Kim Long", "Lê Ngô Cát", "Bùi Thị Xuân", "Huỳnh Thúc Kháng", "Trần Phú", "Đống Đa",
    "Phạm Ngũ Lão", "Chu Văn An", "Võ Thị Sáu", "Nguyễn Tất Thành", "Dương Văn An",
)
VILLAGES = (
    "1", "2", "3", "4", "5", "6", "7", "8", "An Lộc", "Phước Yên", "Thanh Lương", "Đông", "Tây",
    "Trung", "Thượng", "Hạ", "Mỹ Lợi", "Vinh Thanh", "Lại Ân", "Xuân Thiên",
)
_NUMBERS = np.array([str(i) for i in range(400)], dtype=object)


def clean(text: str) -> str:
    """A name safe to put in a quoted CSV field as it is: no double quotes, no line breaks.

    >>> clean('Phường "Đúc"')
    "Phường 'Đúc'"
    """
    return " ".join(text.replace('"', "'").split())


@dataclass(frozen=True)
class PlaceNames:
    """How a commune is written: ``full`` ("Phường Vĩnh Ninh"), ``lower`` ("phường Vĩnh Ninh"),
    ``short`` ("P. Vĩnh Ninh") and its district ``district`` ("Thành phố Huế") / ``district_short``
    ("TP Huế")."""

    full: str
    lower: str
    short: str
    district: str
    district_short: str


_TYPE_SHORT = {"Phường": "P.", "Xã": "X.", "Thị trấn": "TT."}
_DISTRICT_SHORT = {"Thành phố": "TP", "Thị xã": "TX", "Huyện": "H.", "Quận": "Q."}


def place_names(name: str, district: str) -> PlaceNames:
    """The ways of writing one commune and its district.

    >>> place_names("Thị trấn Thuận An", "Huyện Phú Vang").short
    'TT. Thuận An'
    """
    name, district = clean(name), clean(district)
    unit_type = next((t for t in ("Thị trấn", "Phường", "Xã") if name.startswith(t + " ")), "")
    bare = name[len(unit_type):].strip()
    district_type = next((t for t in _DISTRICT_SHORT if district.startswith(t + " ")), "")
    district_bare = district[len(district_type):].strip()
    return PlaceNames(
        full=name,
        lower=(unit_type.lower() + " " + bare).strip(),
        short=(_TYPE_SHORT.get(unit_type, "") + " " + bare).strip(),
        district=district,
        district_short=(_DISTRICT_SHORT.get(district_type, "") + " " + district_bare).strip(),
    )


class AddressBook:
    """Address pieces for every commune, in its old and (row ``i + n``) its 2025 form."""

    def __init__(self, old: Sequence[PlaceNames], new: Sequence[PlaceNames]) -> None:
        names = [*old, *new]
        self.n = len(old)
        self.full = np.array([p.full for p in names], dtype=object)
        self.lower = np.array([p.lower for p in names], dtype=object)
        self.short = np.array([p.short for p in names], dtype=object)
        self.district = np.array([p.district for p in names], dtype=object)
        self.district_short = np.array([p.district_short for p in names], dtype=object)


def _pick(rng: np.random.Generator, table: Sequence[str], n: int) -> ObjectArray:
    picked: ObjectArray = np.array(table, dtype=object)[rng.integers(0, len(table), n)]
    return picked


def _join(*parts: ObjectArray | str) -> ObjectArray:
    """Concatenate row by row: object arrays of strings, or a string for every row."""
    # numpy's stubs do not type `str + object array`, which numpy does row by row.
    joined: ObjectArray = functools.reduce(operator.add, parts)  # type: ignore[arg-type]
    return joined


def _urban_form(rng: np.random.Generator, book: AddressBook, row: IntArray, form: int
                ) -> ObjectArray:
    n = len(row)
    street = _pick(rng, STREETS, n)
    house = _NUMBERS[rng.integers(1, 300, n)]
    alley = _NUMBERS[rng.integers(1, 150, n)]
    if form == 0:
        return _join("số ", house, " ", street, ", ", book.full[row], ", ", book.district[row])
    if form == 1:
        return _join(house, " ", street, ", ", book.short[row], ", Huế")
    if form == 2:
        return _join("kiệt ", alley, " ", street, ", ", book.lower[row])
    return _join(house, "/", alley, " ", street, ", ", book.lower[row], ", ",
                 book.district_short[row])


def _rural_form(rng: np.random.Generator, book: AddressBook, row: IntArray, form: int
                ) -> ObjectArray:
    village = _join("thôn ", _pick(rng, VILLAGES, len(row)))
    if form == 0:
        return _join(village, ", ", book.full[row], ", ", book.district[row])
    if form == 1:
        return _join(village, " ", book.lower[row], " ", book.district_short[row])
    return _join("đường liên thôn, ", village, ", ", book.full[row])


# Ways of writing an address: (urban forms, rural forms).
_FORMS = (4, 3)


def addresses(rng: np.random.Generator, book: AddressBook, *, commune: IntArray,
              rural: BoolArray, new_names: BoolArray, landmark: ObjectArray) -> ObjectArray:
    """One address per report: house number and street in urban wards, village in rural
    communes, or "near <landmark>" where the incident is at a known place (``landmark`` is
    "" elsewhere). ``new_names`` selects the 2025 ward's name."""
    row = commune + np.where(new_names, book.n, 0)
    out = np.empty(len(row), dtype=object)
    form = rng.integers(0, np.where(rural, _FORMS[1], _FORMS[0]))
    for setting, (writer, forms) in enumerate(((_urban_form, _FORMS[0]), (_rural_form, _FORMS[1]))):
        for number in range(forms):
            chosen = np.flatnonzero((rural == bool(setting)) & (form == number))
            out[chosen] = writer(rng, book, row[chosen], number)
    near = (landmark != "") & (rng.random(len(row)) < 0.4)
    out[near] = _join("gần ", landmark[near], ", ", book.lower[row[near]])
    return out


def descriptions(rng: np.random.Generator, codes: Sequence[str], category: IntArray
                 ) -> ObjectArray:
    """A short description per report, from its category's templates and a polite ending."""
    tables = [DESCRIPTIONS.get(ALIASES.get(code, code), DESCRIPTIONS["other"]) for code in codes]
    flat = np.array([text for table in tables for text in table], dtype=object)
    sizes = np.array([len(table) for table in tables])
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    pick = offsets[category] + (rng.random(len(category)) * sizes[category]).astype(np.int64)
    return _join(flat[pick], _pick(rng, SUFFIXES, len(category)))


@dataclass(frozen=True)
class Reporters:
    """Every synthetic resident who reports: id ``i`` has ``names[i]``, ``phones[i]``, ..."""

    names: ObjectArray
    phones: ObjectArray
    emails: ObjectArray

    @classmethod
    def create(cls, count: int) -> Reporters:
        ids = np.arange(count)
        return cls(
            names=np.array([f"{FAKE_NAME_PREFIX}{i}" for i in ids], dtype=object),
            phones=np.array([f"{FAKE_PHONE_PREFIX}{i:06d}" for i in ids], dtype=object),
            emails=np.array([f"{FAKE_EMAIL_PREFIX}{i}@{FAKE_EMAIL_DOMAIN}" for i in ids],
                            dtype=object),
        )


def photo_counts(rng: np.random.Generator, channel: IntArray) -> IntArray:
    """Photos per report: most app reports carry one to three, some web reports one, calls
    none. ``channel``: 0 app, 1 web, 2 hotline."""
    n = len(channel)
    photos = np.where(channel == 0, rng.choice(4, n, p=[0.45, 0.30, 0.15, 0.10]), 0)
    return np.where((channel == 1) & (rng.random(n) < 0.25), 1, photos).astype(np.int64)


def media_urls(public_id: ObjectArray, photos: IntArray) -> ObjectArray:
    """The photos' URLs (under a reserved domain), ``|``-separated."""
    out = np.full(len(public_id), "", dtype=object)
    for k in (1, 2, 3):
        has = photos >= k
        url = _join(MEDIA_BASE_URL, public_id[has], f"/{k}.jpg")
        out[has] = np.where(out[has] == "", url, _join(out[has], MEDIA_SEPARATOR, url))
    return out

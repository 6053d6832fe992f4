"""Test corpus for gis_service.redaction: realistic Huế report descriptions.

``PII_TEXTS``: (text, the contact values in it). Complaints as residents type them on the app
or as hotline staff transcribe them, each carrying a phone number, e-mail address, ID-card
number or self-introduced name, written in one of many ways. All values are invented.

``CLEAN_TEXTS``: complaints without any contact detail but full of numbers that must survive
(house numbers, kiệt and hẻm, dates, times, amounts, kilometre markers, counts, plates).
"""

from __future__ import annotations

import itertools

COMPLAINTS = (
    "Rác thải tồn đọng nhiều ngày ở đầu kiệt 58 Phan Đình Phùng, bốc mùi hôi thối.",
    "Đèn đường trên đường Lê Lợi đoạn trước trường Quốc Học bị hỏng 3 bóng.",
    "Cống thoát nước bị tắc, mưa xuống là ngập cả hẻm 12/3 Nguyễn Huệ.",
    "Có người đổ trộm xà bần xuống bờ sông Như Ý gần cầu Vỹ Dạ.",
    "Quán karaoke ở số 45 Bà Triệu mở nhạc to đến 1 giờ sáng.",
    "Cây xanh bị nghiêng sắp đổ ở kiệt 7 Điện Biên Phủ, rất nguy hiểm.",
    "Mặt đường Hùng Vương bị sụt lún, hố sâu khoảng 30 cm.",
    "Nước sinh hoạt có màu vàng đục từ sáng ngày 12/03/2025.",
    "Lấn chiếm vỉa hè buôn bán ở chợ Đông Ba, người đi bộ phải xuống lòng đường.",
    "Chó thả rông không rọ mõm ở khu tập thể Kim Long.",
    "Hệ thống chiếu sáng khu vực phường Thuận Hòa tắt hết từ 19h.",
    "Đường ống nước bị vỡ trước nhà số 102 Trần Phú, nước chảy lênh láng.",
    "Công trình xây dựng không che chắn, bụi bay khắp kiệt 24 Ngự Bình.",
    "Xe tải chở cát rơi vãi trên tỉnh lộ 10 đoạn Km 12+300.",
    "Mương thủy lợi ở thôn La Chữ bị bồi lấp, ruộng không có nước.",
)

PHONES = (
    "0905111222", "0905 111 222", "0905.111.222", "0905-111-222", "090 511 1222",
    "09 05 11 12 22", "+84 905 111 222", "+84905111222", "(+84)905111222", "(+84) 905 111 222",
    "84905111222", "0084 905 111 222", "+84 (0) 905 111 222", "0234 3822 123", "0234.3.822.123",
    "0234 3 822 123", "02343822123", "(0234) 3822 123", "0234-3822-123", "0914.22.33.44",
    "0988 77 66 55", "0362.456.789", "077 888 9999", "0812 345 678", "0702-123-456",
    "01688 123 456", "054 3822 123", "0 9 0 5 1 1 1 2 2 2", "0905\u00a0111\u00a0222", "+84-905-111-222",
)
PHONE_LEADS = ("gọi", "sđt", "SĐT:", "điện thoại", "liên hệ", "số", "zalo", "dt", "đt:", "di động",
               "số máy", "hotline nhà", "số của tôi là", "sdt", "nhắn tin")

EMAILS = (
    "lan.nguyen@gmail.com", "tran_van_b@yahoo.com.vn", "hoa.le+pa@hue.gov.vn",
    "lan.nguyen [at] gmail [dot] com", "minhtuan (at) gmail (dot) com",
    "ngocanh [at] yahoo [.] com", "lethic at gmail dot com", "thanh.hue a còng gmail chấm com",
    "khanh {at} outlook {dot} com", "PHUONG.TRAN@GMAIL.COM",
)
EMAIL_LEADS = ("email", "mail:", "thư điện tử", "gửi về", "e-mail", "liên hệ qua")

IDS = (
    "046123456789", "046 123 456 789", "046.123.456.789", "046-123-456-789", "191234567",
    "191 234 567", "191-234-567", "079 201 001 234", "001203004005", "201.234.567",
)
ID_LEADS = ("CCCD", "CMND", "số CCCD:", "căn cước", "chứng minh nhân dân số", "CMND số", "cccd",
            "số định danh", "căn cước công dân", "Số CMND")

NAMES = ("Lê Thị C", "Nguyễn Văn An", "Trần Thị Bích Ngọc", "Phạm Minh Tuấn", "Hoàng Văn Nam",
         "Võ Thị Hoa", "Lê Văn Tám", "Nguyễn Thị Lan", "Đặng Quốc Bảo", "Tôn Nữ Thu Hà")
NAME_LEADS = ("tôi là", "Tôi là", "tên tôi là", "tôi tên là", "tôi tên", "em là", "Người báo:",
              "người báo:", "Người phản ánh:", "Họ tên:", "toi la", "ten toi la", "em tên",
              "mình là", "tôi là chị", "tôi là anh", "Tôi tên là", "họ và tên:")
LOWERCASE_NAMES = ("nguyễn văn an", "le thi c", "tran minh")
LOWERCASE_LEADS = ("tên tôi là", "người báo:", "tôi tên là", "ten toi la", "họ tên:")


Texts = list[tuple[str, tuple[str, ...]]]


def _number_texts(complaints: itertools.cycle[str]) -> Texts:
    texts: Texts = []
    for phone, lead in zip(PHONES, itertools.cycle(PHONE_LEADS), strict=False):
        texts.append((f"{next(complaints)} Cần xử lý gấp, {lead} {phone} nếu cần.", (phone,)))
    for phone in PHONES[:15]:
        texts.append((f"{next(complaints)} {phone}", (phone,)))
    for email, lead in zip(EMAILS, itertools.cycle(EMAIL_LEADS), strict=False):
        texts.append((f"{next(complaints)} Có gì {lead} {email} giúp.", (email,)))
    for email in EMAILS:
        texts.append((f"{email} - {next(complaints)}", (email,)))
    for number, lead in zip(IDS, itertools.cycle(ID_LEADS), strict=False):
        texts.append((f"{next(complaints)} Tôi xác nhận, {lead} {number}.", (number,)))
    for number in IDS[:6]:
        texts.append((f"{next(complaints)} Giấy tờ: {number}", (number,)))
    return texts


def _name_texts(complaints: itertools.cycle[str]) -> Texts:
    texts: Texts = []
    for name, lead in zip(itertools.islice(itertools.cycle(NAMES), len(NAME_LEADS)), NAME_LEADS,
                          strict=True):
        texts.append((f"{lead} {name}, {next(complaints).lower()}", (name,)))
    for name, lead in zip(LOWERCASE_NAMES * 2, LOWERCASE_LEADS * 2, strict=False):
        texts.append((f"{next(complaints)} {lead} {name}, ở gần đó.", (name,)))
    return texts


def _pii_texts() -> Texts:
    complaints = itertools.cycle(COMPLAINTS)
    texts = _number_texts(complaints) + _name_texts(complaints)
    for i, (name, phone, email) in enumerate(zip(NAMES, PHONES[::3], EMAILS, strict=False)):
        lead = NAME_LEADS[i % len(NAME_LEADS)]
        texts.append((f"{next(complaints)} {lead} {name}, sđt {phone}, email {email}.",
                      (name, phone, email)))
    for i, (number, phone) in enumerate(zip(IDS, PHONES[1::3], strict=False)):
        texts.append((f"Hotline ghi nhận: {next(complaints)} Người báo: {NAMES[i]}, CCCD {number},"
                      f" gọi lại {phone}.", (NAMES[i], number, phone)))
    texts += [
        ("Tôi là Lê Thị C, gọi 0905111222. Rác ở kiệt 58 chưa ai thu gom.", ("Lê Thị C", "0905111222")),
        ("Chị Hoa (0914 567 890) báo nước ngập sâu 40 cm ở kiệt 3 Chi Lăng.", ("0914 567 890",)),
        ("Mọi thắc mắc xin gọi 0905-777-888 hoặc zalo 0905777888.", ("0905-777-888", "0905777888")),
        ("Em là Ngọc Anh, sinh viên, phản ánh đèn hỏng ở số 7 Lý Thường Kiệt.", ("Ngọc Anh",)),
        ("CMND:191234567, nhà ở hẻm 5 Nguyễn Trãi bị nứt do công trình bên cạnh.", ("191234567",)),
        ("Liên hệ: +84.905.123.456 (anh Nam) về việc ống nước vỡ.", ("+84.905.123.456",)),
        ("Số của tôi 0905 123 456, đèn đường hỏng từ ngày 12/03/2025.", ("0905 123 456",)),
        ("Ngập ở 12/3 Lê Lợi; mail tuan.pham@gmail.com, đt 0234.3822.123.",
         ("tuan.pham@gmail.com", "0234.3822.123")),
    ]
    return texts


PII_TEXTS: list[tuple[str, tuple[str, ...]]] = _pii_texts()

_CLEAN_HAND_WRITTEN = (
    "Rác tồn đọng ở đầu kiệt 58 Phan Đình Phùng đã 5 ngày.",
    "Ngập nước ở số 12/3 Lê Lợi sau trận mưa ngày 12/03/2025.",
    "Đèn đường hỏng từ 18h30 ngày 05.12.2025, đoạn từ số 10 đến số 40 Hùng Vương.",
    "Thiệt hại ước tính 1.500.000 đồng do cây đổ đè mái tôn.",
    "Dự án sửa đường trị giá 120.000.000 đã thi công 2 tháng mà chưa xong.",
    "Hố ga sâu 1,5 m không có nắp, cách trụ điện số 235 khoảng 20 m.",
    "Xe tải biển số 75A-123.45 đổ đất trái phép lúc 22:15 tối qua.",
    "Đường tỉnh 10, Km 12+300 đến Km 12+800 mặt đường bong tróc.",
    "Khoảng 20 hộ dân ở tổ 5, khu vực 3, phường An Cựu bị mất nước 3 ngày liền.",
    "Cây xà cừ cao khoảng 15 m nghiêng ra đường, đường kính thân 60 cm.",
    "Tôi là người dân ở kiệt 58, rác ở đây không ai thu gom.",
    "Em là học sinh trường THPT Hai Bà Trưng, thấy cống bị vỡ nắp.",
    "Mình là cư dân chung cư Xuân Phú, thang máy block B hỏng từ ngày 01/12/2025.",
    "Tôi là chủ hộ kinh doanh ở chợ, phản ánh việc thu phí 50.000 đồng một ngày.",
    "Tiền phạt 2.500.000 đồng nhưng vẫn tái phạm, đề nghị xử lý dứt điểm.",
    "Ngày 1/1/2026 có 3 xe cẩu đậu chắn lối đi số 27/14 Nguyễn Chí Thanh.",
    "Lúc 6h sáng ngày 15-03-2025 xe rác không đến thu gom ở kiệt 120 Đặng Huy Trứ.",
    "Nước máy bị mất từ 8 giờ đến 17 giờ, ảnh hưởng khoảng 300 hộ.",
    "Dây điện võng thấp 2,2 m trên đường Ngô Quyền, đoạn số 60-90.",
    "Đoạn đê dài 150 m ở thôn Thủy Dương bị sạt lở sau bão số 9.",
    "Giá vé gửi xe 10.000đ nhưng thu 20.000đ, quá mức quy định.",
    "Chi phí khắc phục khoảng 15 triệu, dân đã góp 3.000.000 đồng.",
    "Công trình theo giấy phép số 123/GPXD cấp ngày 20/05/2024 xây vượt 2 tầng.",
    "Quyết định số 1234/QĐ-UBND ngày 10.10.2024 chưa được thực hiện.",
    "Quốc lộ 1A, Km 790+500, có ổ gà lớn gây nguy hiểm.",
    "Trạm biến áp T2 số hiệu 471 phát ra tiếng nổ lúc 23h45.",
    "Cống số 3 trên đường Trường Chinh bị tắc từ tháng 11/2025.",
    "Đã phản ánh 2 lần vào ngày 03/11 và 17/11 nhưng chưa có ai xử lý.",
    "Diện tích lấn chiếm khoảng 25 m², từ số nhà 88 đến 96.",
    "Người dân ở thôn 4 xã Phú Mậu than phiền mùi hôi từ trại heo 500 con.",
    "Khu vực có 1.200 học sinh đi qua mỗi ngày, cần đèn tín hiệu.",
    "Ổ gà sâu khoảng 20cm, rộng 1m, ở trước nhà số 201 Phan Bội Châu.",
    "Năm 2024 đã sửa một lần, đến tháng 9/2025 lại hỏng.",
    "Xe buýt tuyến số 6 không dừng ở trạm trước bệnh viện Trung ương Huế.",
    "Tôi tên là người dân kiệt 9, xin phản ánh việc đốt rác.",
    "Bãi rác tự phát rộng khoảng 100 m2 ở lô đất số 45, khu quy hoạch Bàu Vá.",
    "Giờ cao điểm 7h00-8h30 kẹt xe kéo dài ở nút giao 4 ngả.",
    "Đèn chiếu sáng cột số 12, 13, 14 và 15 trên đường Lý Nam Đế không sáng.",
    "Kênh thủy lợi N2 đoạn từ cống 1 đến cống 4 bị bèo lấp kín.",
    "Từ 2.000 đến 3.000 lít nước thải mỗi ngày xả ra sông.",
    "Nhiệt độ lên tới 38 độ mà khu vực mất điện từ 13h15 đến 16h40.",
    "Cây đổ lúc 14:30 ngày 20/10/2025 làm hỏng 2 xe máy.",
    "Trên tuyến đường có 12 cột điện nghiêng, cột số 7 nghiêng nặng nhất.",
    "Đơn giá thu gom rác 25.000 đồng/tháng nhưng 2 tháng nay không thu.",
    "Hẻm 24/7/3 Ngự Bình ngập sâu 50 cm mỗi khi mưa lớn.",
    "Hộ số 15, tổ dân phố 8, phường Thủy Xuân bị sạt lở đất phía sau nhà.",
    "Giấy phép hết hạn từ ngày 31/12/2024 nhưng quán vẫn hoạt động.",
    "Dự toán 3.450.000.000 đồng cho tuyến kiệt dài 450 m là bất hợp lý.",
    "Khoảng 9 giờ 45 phút sáng nay xe chở rác làm rơi vãi dọc đường.",
    "Lô đất 1234, tờ bản đồ số 56 bị san lấp trái phép.",
    "Phòng khám ở số 2A Lê Quý Đôn xả rác y tế ra thùng rác công cộng.",
    "Bệnh nhân phải chờ từ 5h sáng, đến 11h vẫn chưa được khám.",
    "Em tên là gì không quan trọng, chỉ mong sửa đèn đường.",
    "Mã hồ sơ PA-7K3M9Q2XHD chưa được trả lời sau 15 ngày làm việc.",
    "Thời hạn 10 ngày làm việc đã qua, phản ánh từ 01.11.2025.",
    "Tổng cộng 125 hộ ký đơn, kèm danh sách 4 trang.",
    "Cao độ nền 2,35 m thấp hơn mặt đường 0,4 m nên ngập.",
    "Chiều dài tuyến cống 1.250 m, mới làm xong 600 m.",
    "Đã 3 tuần, 21 ngày, mà 4 bóng đèn vẫn chưa thay.",
    "Có 2 con chó dữ cắn 1 cháu bé 6 tuổi ở kiệt 34.",
)
_CLEAN_NUMBERS = (
    "kiệt 58", "kiệt 114/5", "số 12/3 Lê Lợi", "hẻm 27/14", "ngày 12/03/2025", "ngày 05.12.2025",
    "ngày 15-03-2025", "lúc 14:30", "lúc 8h30", "từ 7h00 đến 9h15", "số tiền 1.500.000 đồng",
    "khoản 250.000đ", "chi phí 2.300.000.000 đồng", "khoảng 20 hộ", "Km 12+300", "Km 790+500",
    "cột điện số 235", "xe 75A-123.45", "tổ 5 khu vực 3", "lô 1234 tờ 56", "năm 2025",
    "quyết định số 1234/QĐ-UBND", "dài 1.250 m", "rộng 2,5 m", "tầng 12 chung cư",
    "số nhà 102/28/5", "tuyến xe buýt số 6", "từ tháng 11/2025", "120.000.000 đồng",
    "100 m2", "10.000 m²", "3 giờ 45 phút", "phòng 305 nhà B2", "mã số thuế 3300101234",
)
_CLEAN_TEMPLATES = (
    "Xin phản ánh tình trạng ngập ở {0}, kéo dài {1}.",
    "Rác tồn đọng tại {0}; đã báo {1} nhưng chưa xử lý.",
    "Đèn đường hỏng ở {0}, người dân đi lại khó khăn {1}.",
)


def _clean_texts() -> list[str]:
    pairs = zip(_CLEAN_NUMBERS, [*_CLEAN_NUMBERS[1:], _CLEAN_NUMBERS[0]], strict=True)
    generated = [template.format(a, b) for (a, b), template
                 in zip(pairs, itertools.cycle(_CLEAN_TEMPLATES), strict=False)]
    return [*_CLEAN_HAND_WRITTEN, *generated]


CLEAN_TEXTS: list[str] = _clean_texts()

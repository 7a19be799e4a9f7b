"""Boilerplate goes, report text stays: checked on the five seed reports."""

from __future__ import annotations

import pytest

from assistant.clean import clean_report, normalize_whitespace
from assistant.config import Settings
from assistant.ingest import read_report

from .conftest import CORPUS

BOILERPLATE = {
    "000_a3a7b5d9cb3a78e0.txt": [
        "Đang truy cập",
        "Tổng lượt truy cập",
        "lượt xem",
        "Văn bản mới",
        "Tổng số điểm của bài viết",
        "Bạn đã không sử dụng Site",
        "Thứ bảy - 31/12/2022",
    ],
    "001_054a7c0dab494386.txt": ["Thống kê truy cập", "Đang online", "VĂN BẢN MỚI", "anh tin bai", "\n1 2 3"],
    "002_10b3e2ec16de400a.txt": [
        "Skip Ribbon Commands",
        "Skip to main content",
        "DSC_1305.jpg",
        "DSC_1318.jpg",
        "Tin theo lĩnh vực",
    ],
    "003_0dfad15aa9fa3ad3.txt": [
        "Liên kết website",
        "Các tin khác",
        "Thư viện ảnh",
        "Mới nhất",
        "Phản hồi",
        "Chủ Nhật, 14/4/2024",
        "Tuyên giáo các cấp",
    ],
    "004_6f4d4aaf08285b73.txt": ["Bạn cũng có thể thích", "tin tức bắc giang, bảo vệ nền tảng"],
}

CONTENT = {
    "000_a3a7b5d9cb3a78e0.txt": [
        "trong năm toàn tỉnh đã mở 211 lớp/12.029 học viên đạt 102,9% kế hoạch.",
        "Năm 2023 đã bắt đầu, với động lực mới và niềm tin thắng lợi, nhất định Ngành Tuyên giáo Đảng bộ tỉnh sẽ "
        "hoàn thành xuất sắc nhiệm vụ, góp phần cùng Đảng bộ, chính quyền, Nhân dân các dân tộc trong tỉnh thực hiện "
        "thắng lợi các mục tiêu, nhiệm vụ chính trị năm 2023, xây dựng Lai Châu phát triển bền vững./.",
        "Tác giả: Thanh Sơn",
    ],
    "001_054a7c0dab494386.txt": [
        "Kết quả trong năm các chi bộ, đảng bộ cơ sở trực thuộc đã tổ chức được 1.462 cuộc",
        "Sáu là, Kịp thời kiện toàn đội ngũ báo cáo viên, thành viên Ban chỉ đạo và đội ngũ cộng tác viên",
        "Ban Tuyên giáo Đảng ủy Khối các cơ quan và doanh nghiệp tỉnh",
    ],
    "002_10b3e2ec16de400a.txt": [
        "Chiều ngày 07/7/2022, Ban Tuyên giáo Tỉnh ủy tổ chức sơ kết công tác tuyên giáo 06 tháng đầu năm",
        "Tổ chức các hội nghị tập huấn về công tác tuyên giáo, hoạt động của Ban Chỉ đạo 35, kỹ năng, phương pháp viết "
        "bài tham dự Giải Búa liềm vàng lần thứ VII năm 2022./.",
        "Trưởng Ban Tuyên giáo Tỉnh ủy Lê Thị Thanh Hà phát biểu kết luận hội nghị",
    ],
    "003_0dfad15aa9fa3ad3.txt": [
        "Có 9/15 Ban Tuyên giáo cấp huyện, bố trí biên chế đảm bảo tối thiểu theo quy định",
        "Ba là, xây dựng và triển khai các giải pháp nhằm đổi mới, nâng cao chất lượng, hiệu quả công tác tuyên giáo "
        "các cấp.",
        "Phó Trưởng ban thường trực Ban Tuyên giáo Tỉnh ủy Đắk Lắk",
    ],
    "004_6f4d4aaf08285b73.txt": [
        "cấp huyện tổ chức gần 40 hội nghị thông tin chuyên đề cho cán bộ chủ chốt và gần 150 hội nghị",
        "Nhân dịp hội nghị, Ban Tuyên giáo Tỉnh ủy đã trao Chứng nhận và tặng thưởng 9 tập thể",
        "Nguồn: Báo Môi Trường và Đô Thị",
    ],
}


@pytest.mark.parametrize("name", sorted(BOILERPLATE))
def test_boilerplate_removed_and_content_kept(name):
    doc = read_report(CORPUS / name, Settings())
    for line in BOILERPLATE[name]:
        assert line not in doc.text, f"{name}: boilerplate {line!r} survived cleaning"
    for sentence in CONTENT[name]:
        assert sentence in doc.text, f"{name}: report text {sentence[:50]!r} was lost"


def test_last_paragraph_is_the_end_of_each_cleaned_report():
    last = {
        "000_a3a7b5d9cb3a78e0.txt": "Tác giả: Thanh Sơn",
        "001_054a7c0dab494386.txt": "Ban Tuyên giáo Đảng ủy Khối các cơ quan và doanh nghiệp tỉnh",
        "002_10b3e2ec16de400a.txt": "lần thứ VII năm 2022./.",
        "003_0dfad15aa9fa3ad3.txt": "Phó Trưởng ban thường trực Ban Tuyên giáo Tỉnh ủy Đắk Lắk",
        "004_6f4d4aaf08285b73.txt": "Nguồn: Báo Môi Trường và Đô Thị",
    }
    for name, ending in last.items():
        assert read_report(CORPUS / name, Settings()).text.endswith(ending), name


def test_repeated_consecutive_lines_keep_one_copy():
    doc = read_report(CORPUS / "003_0dfad15aa9fa3ad3.txt", Settings())
    caption = (
        "Đồng chí Bùi Văn Cường, Ủy viên Ban Chấp hành Trung ương Đảng, "
        "Bí thư Tỉnh ủy làm việc với Ban Tuyên giáo Tỉnh ủy."
    )
    assert doc.text.count(caption) == 1


def test_published_date_comes_from_the_dateline():
    assert (
        clean_report("Thứ bảy - 31/12/2022 21:24 481 0\nNội dung báo cáo dài đủ để giữ lại.").published == "31/12/2022"
    )


def test_normalize_whitespace_nfc_and_invisible_characters():
    nfd = "Ba\u0300i\u200b  vie\u0302\u0301t\r\n"
    assert normalize_whitespace(nfd) == "Bài viết\n"

from app.core.text import counted


def test_counts_read_as_people_write_them() -> None:
    assert [counted(n, "image") for n in (0, 1, 2)] == ["0 images", "1 image", "2 images"]
    assert counted(3, "series", "series") == "3 series"

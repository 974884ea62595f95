def test_a_long_select_spells_the_same_html_as_the_standard_one() -> None:
    from wtforms import Form, SelectChoice, SelectField
    from wtforms.widgets import Select

    from btam.forms import LongSelect

    choices = [
        SelectChoice("", "Any"),
        SelectChoice("case:note:added", "case:note:added"),
        SelectChoice('"><script>alert(1)</script>', "<b>bold</b> & more"),
        SelectChoice("plain", ""),
    ]

    class Standard(Form):
        pick = SelectField(choices=choices, widget=Select())

    class Long(Form):
        pick = SelectField(choices=choices, widget=LongSelect())

    for chosen in ("", "case:note:added", '"><script>alert(1)</script>', "plain"):
        standard = Standard(data={"pick": chosen}).pick()
        long = Long(data={"pick": chosen}).pick()
        assert long == standard, chosen
        assert "<script>" not in long

"""Mecklenburg-Vorpommern as the generator sees it: Schulämter, Landkreise, places, streets.

Place names, Landkreise and the split of the state among the four Staatliche Schulämter are
real; Postleitzahlen are close to the real ones but not checked, and all numbers (Dienststellen-,
Schulträger-, Schulnummern) are synthetic.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Schulamt:
    """One of the four Staatliche Schulämter, with the Landkreise it looks after."""

    number: str
    name: str
    street: str
    plz: str
    ort: str
    kreise: tuple[str, ...]


MINISTRY_NUMBER = "100000"
MINISTRY_NAME = "Ministerium für Bildung und Kindertagesförderung Mecklenburg-Vorpommern"
MINISTRY_ADDRESS = ("Werderstraße 124", "19055", "Schwerin")

SCHULAEMTER: tuple[Schulamt, ...] = (
    Schulamt("110100", "Staatliches Schulamt Greifswald", "Am Gorzberg 8", "17489", "Greifswald",
             ("VG", "VR")),
    Schulamt("110200", "Staatliches Schulamt Neubrandenburg", "Neustrelitzer Straße 120",
             "17033", "Neubrandenburg", ("MSE",)),
    Schulamt("110300", "Staatliches Schulamt Rostock", "Möllner Straße 13", "18109", "Rostock",
             ("HRO", "LRO")),
    Schulamt("110400", "Staatliches Schulamt Schwerin", "Friedrich-Engels-Straße 2", "19061",
             "Schwerin", ("SN", "LUP", "NWM")),
)  # fmt: skip

SCHULAMT_OF_KREIS = {kreis: amt for amt in SCHULAEMTER for kreis in amt.kreise}

# Kinds of Schulträger: kreisfreie Stadt, Landkreis, Stadt, Amt, Gemeinde.
KINDS = ("KS", "LK", "ST", "AMT", "GEM")


@dataclass(frozen=True)
class Place:
    """A municipality, Amt or Landkreis that can be a Schulträger, located at `ort`."""

    traeger_name: str
    ort: str
    plz: str
    kreis: str
    kind: str
    population: int


# Träger name | Ort | PLZ | Kreis | Art | rough population (thousands, for school counts).
_PLACES = """
Landeshauptstadt Schwerin|Schwerin|19053|SN|KS|96
Hanse- und Universitätsstadt Rostock|Rostock|18055|HRO|KS|209
Landkreis Mecklenburgische Seenplatte|Neubrandenburg|17033|MSE|LK|0
Landkreis Rostock|Güstrow|18273|LRO|LK|0
Landkreis Vorpommern-Rügen|Stralsund|18437|VR|LK|0
Landkreis Nordwestmecklenburg|Wismar|23966|NWM|LK|0
Landkreis Vorpommern-Greifswald|Greifswald|17489|VG|LK|0
Landkreis Ludwigslust-Parchim|Parchim|19370|LUP|LK|0
Stadt Neubrandenburg|Neubrandenburg|17033|MSE|ST|63
Hansestadt Stralsund|Stralsund|18435|VR|ST|59
Universitäts- und Hansestadt Greifswald|Greifswald|17489|VG|ST|59
Hansestadt Wismar|Wismar|23966|NWM|ST|43
Barlachstadt Güstrow|Güstrow|18273|LRO|ST|29
Stadt Waren (Müritz)|Waren (Müritz)|17192|MSE|ST|21
Stadt Neustrelitz|Neustrelitz|17235|MSE|ST|20
Stadt Parchim|Parchim|19370|LUP|ST|18
Stadt Ribnitz-Damgarten|Ribnitz-Damgarten|18311|VR|ST|15
Stadt Bergen auf Rügen|Bergen auf Rügen|18528|VR|ST|13
Stadt Ludwigslust|Ludwigslust|19288|LUP|ST|12
Hansestadt Anklam|Anklam|17389|VG|ST|12
Stadt Wolgast|Wolgast|17438|VG|ST|12
Stadt Hagenow|Hagenow|19230|LUP|ST|12
Stadt Bad Doberan|Bad Doberan|18209|LRO|ST|12
Stadt Pasewalk|Pasewalk|17309|VG|ST|10
Hansestadt Demmin|Demmin|17109|MSE|ST|10
Stadt Grevesmühlen|Grevesmühlen|23936|NWM|ST|10
Stadt Boizenburg/Elbe|Boizenburg/Elbe|19258|LUP|ST|10
Stadt Grimmen|Grimmen|18507|VR|ST|9
Stadt Sassnitz|Sassnitz|18546|VR|ST|9
Stadt Torgelow|Torgelow|17358|VG|ST|9
Stadt Ueckermünde|Ueckermünde|17373|VG|ST|8
Stadt Teterow|Teterow|17166|LRO|ST|8
Stadt Barth|Barth|18356|VR|ST|8
Ostseebad Kühlungsborn|Kühlungsborn|18225|LRO|ST|8
Stadt Bützow|Bützow|18246|LRO|ST|7
Stadt Malchin|Malchin|17139|MSE|ST|7
Stadt Neustadt-Glewe|Neustadt-Glewe|19306|LUP|ST|7
Stadt Lübz|Lübz|19386|LUP|ST|6
Stadt Plau am See|Plau am See|19395|LUP|ST|6
Stadt Wittenburg|Wittenburg|19243|LUP|ST|6
Stadt Laage|Laage|18299|LRO|ST|6
Stadt Friedland|Friedland|17098|MSE|ST|6
Stadt Malchow|Malchow|17213|MSE|ST|6
Stadt Altentreptow|Altentreptow|17087|MSE|ST|5
Stadt Grabow|Grabow|19300|LUP|ST|5
Stadt Crivitz|Crivitz|19089|LUP|ST|5
Stadt Gadebusch|Gadebusch|19205|NWM|ST|5
Stadt Zarrentin am Schaalsee|Zarrentin am Schaalsee|19246|LUP|ST|5
Stadt Kröpelin|Kröpelin|18236|LRO|ST|5
Stadt Schwaan|Schwaan|18258|LRO|ST|5
Stadt Burg Stargard|Burg Stargard|17094|MSE|ST|5
Reuterstadt Stavenhagen|Stavenhagen|17153|MSE|ST|5
Stadt Röbel/Müritz|Röbel/Müritz|17207|MSE|ST|5
Stadt Putbus|Putbus|18581|VR|ST|4
Stadt Marlow|Marlow|18337|VR|ST|4
Stadt Schönberg|Schönberg|23923|NWM|ST|4
Stadt Strasburg (Uckermark)|Strasburg (Uckermark)|17335|VG|ST|4
Stadt Eggesin|Eggesin|17367|VG|ST|4
Stadt Lübtheen|Lübtheen|19249|LUP|ST|4
Stadt Sternberg|Sternberg|19406|LUP|ST|4
Stadt Penzlin|Penzlin|17217|MSE|ST|4
Stadt Woldegk|Woldegk|17348|MSE|ST|4
Stadt Neubukow|Neubukow|18233|LRO|ST|4
Stadt Tessin|Tessin|18195|LRO|ST|4
Stadt Dassow|Dassow|23942|NWM|ST|4
Stadt Neukloster|Neukloster|23992|NWM|ST|4
Stadt Dargun|Dargun|17159|MSE|ST|4
Stadt Loitz|Loitz|17121|VG|ST|4
Stadt Krakow am See|Krakow am See|18292|LRO|ST|3
Stadt Goldberg|Goldberg|19399|LUP|ST|3
Stadt Rehna|Rehna|19217|NWM|ST|3
Stadt Mirow|Mirow|17252|MSE|ST|3
Stadt Dömitz|Dömitz|19303|LUP|ST|3
Stadt Gnoien|Gnoien|17179|LRO|ST|3
Stadt Klütz|Klütz|23948|NWM|ST|3
Stadt Warin|Warin|19417|NWM|ST|3
Stadt Wesenberg|Wesenberg|17255|MSE|ST|3
Stadt Jarmen|Jarmen|17126|VG|ST|3
Stadt Gützkow|Gützkow|17506|VG|ST|3
Stadt Tribsees|Tribsees|18465|VR|ST|2
Stadt Brüel|Brüel|19412|LUP|ST|2
Stadt Garz/Rügen|Garz/Rügen|18574|VR|ST|2
Ostseebad Rerik|Rerik|18230|LRO|ST|2
Stadt Neukalen|Neukalen|17154|MSE|ST|2
Stadt Bad Sülze|Bad Sülze|18334|VR|ST|2
Stadt Usedom|Usedom|17406|VG|ST|2
Stadt Penkun|Penkun|17328|VG|ST|2
Stadt Lassan|Lassan|17440|VG|ST|1
Stadt Franzburg|Franzburg|18461|VR|ST|1
Stadt Richtenberg|Richtenberg|18461|VR|ST|1
Amt Bad Doberan-Land|Bad Doberan|18209|LRO|AMT|3
Amt Bützow Land|Bützow|18246|LRO|AMT|3
Amt Carbäk|Broderstorf|18184|LRO|AMT|3
Amt Güstrow-Land|Güstrow|18273|LRO|AMT|3
Amt Mecklenburgische Schweiz|Teterow|17166|LRO|AMT|3
Amt Neubukow-Salzhaff|Neubukow|18233|LRO|AMT|3
Amt Rostocker Heide|Gelbensande|18182|LRO|AMT|3
Amt Warnow-West|Kritzmow|18198|LRO|AMT|3
Amt Altenpleen|Altenpleen|18445|VR|AMT|3
Amt Darß/Fischland|Born a. Darß|18375|VR|AMT|3
Amt Franzburg-Richtenberg|Franzburg|18461|VR|AMT|3
Amt Miltzow|Sundhagen|18519|VR|AMT|3
Amt Mönchgut-Granitz|Baabe|18586|VR|AMT|3
Amt Niepars|Niepars|18442|VR|AMT|3
Amt Nord-Rügen|Sagard|18551|VR|AMT|3
Amt Recknitz-Trebeltal|Tribsees|18465|VR|AMT|3
Amt West-Rügen|Samtens|18573|VR|AMT|3
Amt Am Peenestrom|Wolgast|17438|VG|AMT|3
Amt Am Stettiner Haff|Eggesin|17367|VG|AMT|3
Amt Anklam-Land|Spantekow|17392|VG|AMT|3
Amt Jarmen-Tutow|Jarmen|17126|VG|AMT|3
Amt Landhagen|Neuenkirchen|17498|VG|AMT|3
Amt Löcknitz-Penkun|Löcknitz|17321|VG|AMT|3
Amt Lubmin|Lubmin|17509|VG|AMT|3
Amt Peenetal/Loitz|Loitz|17121|VG|AMT|3
Amt Torgelow-Ferdinandshof|Torgelow|17358|VG|AMT|3
Amt Uecker-Randow-Tal|Pasewalk|17309|VG|AMT|3
Amt Usedom-Nord|Zinnowitz|17454|VG|AMT|3
Amt Usedom-Süd|Usedom|17406|VG|AMT|3
Amt Züssow|Züssow|17495|VG|AMT|3
Amt Demmin-Land|Demmin|17109|MSE|AMT|3
Amt Friedland|Friedland|17098|MSE|AMT|3
Amt Malchin am Kummerower See|Malchin|17139|MSE|AMT|3
Amt Malchow|Malchow|17213|MSE|AMT|3
Amt Mecklenburgische Kleinseenplatte|Mirow|17252|MSE|AMT|3
Amt Neustrelitz-Land|Neustrelitz|17235|MSE|AMT|3
Amt Neverin|Neverin|17039|MSE|AMT|3
Amt Penzliner Land|Penzlin|17217|MSE|AMT|3
Amt Röbel-Müritz|Röbel/Müritz|17207|MSE|AMT|3
Amt Seenlandschaft Waren|Waren (Müritz)|17192|MSE|AMT|3
Amt Stargarder Land|Burg Stargard|17094|MSE|AMT|3
Amt Stavenhagen|Stavenhagen|17153|MSE|AMT|3
Amt Treptower Tollensewinkel|Altentreptow|17087|MSE|AMT|3
Amt Woldegk|Woldegk|17348|MSE|AMT|3
Amt Boizenburg-Land|Boizenburg/Elbe|19258|LUP|AMT|3
Amt Crivitz|Crivitz|19089|LUP|AMT|3
Amt Dömitz-Malliß|Dömitz|19303|LUP|AMT|3
Amt Eldenburg Lübz|Lübz|19386|LUP|AMT|3
Amt Goldberg-Mildenitz|Goldberg|19399|LUP|AMT|3
Amt Grabow|Grabow|19300|LUP|AMT|3
Amt Hagenow-Land|Hagenow|19230|LUP|AMT|3
Amt Ludwigslust-Land|Ludwigslust|19288|LUP|AMT|3
Amt Neustadt-Glewe|Neustadt-Glewe|19306|LUP|AMT|3
Amt Parchimer Umland|Parchim|19370|LUP|AMT|3
Amt Plau am See|Plau am See|19395|LUP|AMT|3
Amt Sternberger Seenlandschaft|Sternberg|19406|LUP|AMT|3
Amt Stralendorf|Stralendorf|19073|LUP|AMT|3
Amt Wittenburg|Wittenburg|19243|LUP|AMT|3
Amt Zarrentin|Zarrentin am Schaalsee|19246|LUP|AMT|3
Amt Banzkow|Banzkow|19079|LUP|AMT|3
Amt Dorf Mecklenburg-Bad Kleinen|Dorf Mecklenburg|23972|NWM|AMT|3
Amt Gadebusch|Gadebusch|19205|NWM|AMT|3
Amt Grevesmühlen-Land|Grevesmühlen|23936|NWM|AMT|3
Amt Klützer Winkel|Klütz|23948|NWM|AMT|3
Amt Lützow-Lübstorf|Lützow|19209|NWM|AMT|3
Amt Neuburg|Neuburg|23974|NWM|AMT|3
Amt Neukloster-Warin|Neukloster|23992|NWM|AMT|3
Amt Rehna|Rehna|19217|NWM|AMT|3
Amt Schönberger Land|Schönberg|23923|NWM|AMT|3
Gemeinde Dummerstorf|Dummerstorf|18196|LRO|GEM|7
Gemeinde Sanitz|Sanitz|18190|LRO|GEM|6
Gemeinde Ostseebad Graal-Müritz|Graal-Müritz|18181|LRO|GEM|4
Gemeinde Bentwisch|Bentwisch|18182|LRO|GEM|3
Gemeinde Kritzmow|Kritzmow|18198|LRO|GEM|3
Gemeinde Lambrechtshagen|Lambrechtshagen|18069|LRO|GEM|3
Gemeinde Papendorf|Papendorf|18059|LRO|GEM|2
Gemeinde Admannshagen-Bargeshagen|Admannshagen-Bargeshagen|18211|LRO|GEM|2
Gemeinde Ostseebad Nienhagen|Nienhagen|18211|LRO|GEM|1
Gemeinde Elmenhorst/Lichtenhagen|Elmenhorst/Lichtenhagen|18107|LRO|GEM|3
Gemeinde Roggentin|Roggentin|18184|LRO|GEM|3
Gemeinde Broderstorf|Broderstorf|18184|LRO|GEM|3
Gemeinde Rövershagen|Rövershagen|18182|LRO|GEM|2
Gemeinde Gelbensande|Gelbensande|18182|LRO|GEM|1
Gemeinde Satow|Satow|18239|LRO|GEM|2
Gemeinde Retschow|Retschow|18211|LRO|GEM|1
Gemeinde Zehna|Zehna|18276|LRO|GEM|1
Gemeinde Lalendorf|Lalendorf|18279|LRO|GEM|2
Gemeinde Hohen Sprenz|Hohen Sprenz|18299|LRO|GEM|1
Gemeinde Tarnow|Tarnow|18249|LRO|GEM|1
Gemeinde Thulendorf|Thulendorf|18184|LRO|GEM|1
Gemeinde Stäbelow|Stäbelow|18198|LRO|GEM|1
Gemeinde Pölchow|Pölchow|18059|LRO|GEM|1
Gemeinde Ostseebad Binz|Binz|18609|VR|GEM|5
Gemeinde Ostseebad Sellin|Sellin|18586|VR|GEM|2
Gemeinde Ostseebad Göhren|Göhren|18586|VR|GEM|1
Gemeinde Ostseeheilbad Zingst|Zingst|18374|VR|GEM|3
Gemeinde Ostseebad Prerow|Prerow|18375|VR|GEM|1
Gemeinde Ostseebad Dierhagen|Dierhagen|18347|VR|GEM|1
Gemeinde Kramerhof|Kramerhof|18445|VR|GEM|1
Gemeinde Süderholz|Süderholz|18516|VR|GEM|4
Gemeinde Sundhagen|Sundhagen|18519|VR|GEM|4
Gemeinde Niepars|Niepars|18442|VR|GEM|2
Gemeinde Prohn|Prohn|18445|VR|GEM|2
Gemeinde Velgast|Velgast|18469|VR|GEM|2
Gemeinde Semlow|Semlow|18334|VR|GEM|1
Gemeinde Sagard|Sagard|18551|VR|GEM|2
Gemeinde Samtens|Samtens|18573|VR|GEM|1
Gemeinde Gingst|Gingst|18569|VR|GEM|1
Gemeinde Altefähr|Altefähr|18573|VR|GEM|1
Gemeinde Ostseebad Baabe|Baabe|18586|VR|GEM|1
Gemeinde Glowe|Glowe|18551|VR|GEM|1
Gemeinde Wiek|Wiek|18556|VR|GEM|1
Gemeinde Ostseebad Heringsdorf|Heringsdorf|17424|VG|GEM|9
Gemeinde Ostseebad Zinnowitz|Zinnowitz|17454|VG|GEM|4
Gemeinde Ostseebad Koserow|Koserow|17459|VG|GEM|2
Gemeinde Ostseebad Karlshagen|Karlshagen|17449|VG|GEM|3
Gemeinde Lubmin|Lubmin|17509|VG|GEM|2
Gemeinde Löcknitz|Löcknitz|17321|VG|GEM|3
Gemeinde Ferdinandshof|Ferdinandshof|17379|VG|GEM|3
Gemeinde Neuenkirchen|Neuenkirchen|17498|VG|GEM|2
Gemeinde Wackerow|Wackerow|17498|VG|GEM|1
Gemeinde Levenhagen|Levenhagen|17498|VG|GEM|1
Gemeinde Züssow|Züssow|17495|VG|GEM|1
Gemeinde Ducherow|Ducherow|17398|VG|GEM|2
Gemeinde Spantekow|Spantekow|17392|VG|GEM|1
Gemeinde Zirchow|Zirchow|17419|VG|GEM|1
Gemeinde Mönkebude|Mönkebude|17375|VG|GEM|1
Gemeinde Krackow|Krackow|17329|VG|GEM|1
Gemeinde Blankensee|Blankensee|17322|VG|GEM|1
Gemeinde Grambin|Grambin|17375|VG|GEM|1
Gemeinde Kemnitz|Kemnitz|17509|VG|GEM|1
Gemeinde Wusterhusen|Wusterhusen|17509|VG|GEM|1
Gemeinde Rubenow|Rubenow|17509|VG|GEM|1
Gemeinde Murchin|Murchin|17390|VG|GEM|1
Gemeinde Ostseebad Trassenheide|Trassenheide|17449|VG|GEM|1
Gemeinde Behrenhoff|Behrenhoff|17498|VG|GEM|1
Gemeinde Dersekow|Dersekow|17498|VG|GEM|1
Gemeinde Görmin|Görmin|17121|VG|GEM|1
Gemeinde Feldberger Seenlandschaft|Feldberg|17258|MSE|GEM|4
Gemeinde Neverin|Neverin|17039|MSE|GEM|1
Gemeinde Trollenhagen|Trollenhagen|17039|MSE|GEM|1
Gemeinde Möllenhagen|Möllenhagen|17219|MSE|GEM|1
Gemeinde Groß Nemerow|Groß Nemerow|17094|MSE|GEM|1
Gemeinde Holldorf|Holldorf|17094|MSE|GEM|1
Gemeinde Wokuhl-Dabelow|Wokuhl-Dabelow|17237|MSE|GEM|1
Gemeinde Userin|Userin|17237|MSE|GEM|1
Gemeinde Ankershagen|Ankershagen|17219|MSE|GEM|1
Gemeinde Kummerow|Kummerow|17139|MSE|GEM|1
Gemeinde Basedow|Basedow|17139|MSE|GEM|1
Gemeinde Jürgenstorf|Jürgenstorf|17153|MSE|GEM|1
Gemeinde Ivenack|Ivenack|17153|MSE|GEM|1
Gemeinde Rechlin|Rechlin|17248|MSE|GEM|2
Gemeinde Lärz|Lärz|17248|MSE|GEM|1
Gemeinde Göhren-Lebbin|Göhren-Lebbin|17213|MSE|GEM|1
Gemeinde Fleesensee|Fleesensee|17213|MSE|GEM|1
Gemeinde Nossentiner Hütte|Nossentiner Hütte|17214|MSE|GEM|1
Gemeinde Cölpin|Cölpin|17094|MSE|GEM|1
Gemeinde Sponholz|Sponholz|17039|MSE|GEM|1
Gemeinde Wolde|Wolde|17091|MSE|GEM|1
Gemeinde Beggerow|Beggerow|17111|MSE|GEM|1
Gemeinde Tützpatz|Tützpatz|17091|MSE|GEM|1
Gemeinde Banzkow|Banzkow|19079|LUP|GEM|2
Gemeinde Plate|Plate|19086|LUP|GEM|3
Gemeinde Sukow|Sukow|19079|LUP|GEM|1
Gemeinde Lübesse|Lübesse|19077|LUP|GEM|1
Gemeinde Stralendorf|Stralendorf|19073|LUP|GEM|1
Gemeinde Pampow|Pampow|19075|LUP|GEM|3
Gemeinde Holthusen|Holthusen|19075|LUP|GEM|1
Gemeinde Dümmer|Dümmer|19073|LUP|GEM|1
Gemeinde Leezen|Leezen|19067|LUP|GEM|1
Gemeinde Pinnow|Pinnow|19065|LUP|GEM|1
Gemeinde Raben Steinfeld|Raben Steinfeld|19065|LUP|GEM|1
Gemeinde Gallin|Gallin|19258|LUP|GEM|1
Gemeinde Vellahn|Vellahn|19260|LUP|GEM|1
Gemeinde Malliß|Malliß|19294|LUP|GEM|1
Gemeinde Warsow|Warsow|19075|LUP|GEM|1
Gemeinde Rastow|Rastow|19077|LUP|GEM|2
Gemeinde Uelitz|Uelitz|19077|LUP|GEM|1
Gemeinde Tramm|Tramm|19089|LUP|GEM|1
Gemeinde Domsühl|Domsühl|19374|LUP|GEM|1
Gemeinde Spornitz|Spornitz|19372|LUP|GEM|1
Gemeinde Lewitzrand|Lewitzrand|19372|LUP|GEM|1
Gemeinde Ganzlin|Ganzlin|19395|LUP|GEM|1
Gemeinde Dobbertin|Dobbertin|19399|LUP|GEM|1
Gemeinde Wöbbelin|Wöbbelin|19288|LUP|GEM|1
Gemeinde Groß Laasch|Groß Laasch|19288|LUP|GEM|1
Gemeinde Ostseebad Insel Poel|Insel Poel|23999|NWM|GEM|2
Gemeinde Lübstorf|Lübstorf|19069|NWM|GEM|1
Gemeinde Bad Kleinen|Bad Kleinen|23996|NWM|GEM|3
Gemeinde Dorf Mecklenburg|Dorf Mecklenburg|23972|NWM|GEM|3
Gemeinde Lübow|Lübow|23972|NWM|GEM|1
Gemeinde Hohenkirchen|Hohenkirchen|23968|NWM|GEM|1
Gemeinde Gägelow|Gägelow|23968|NWM|GEM|2
Gemeinde Zierow|Zierow|23968|NWM|GEM|1
Gemeinde Blowatz|Blowatz|23974|NWM|GEM|1
Gemeinde Kalkhorst|Kalkhorst|23942|NWM|GEM|1
Gemeinde Lüdersdorf|Lüdersdorf|23923|NWM|GEM|5
Gemeinde Selmsdorf|Selmsdorf|23923|NWM|GEM|3
Gemeinde Upahl|Upahl|23936|NWM|GEM|1
Gemeinde Carlow|Carlow|19217|NWM|GEM|1
Gemeinde Schlagsdorf|Schlagsdorf|19217|NWM|GEM|1
Gemeinde Lützow|Lützow|19209|NWM|GEM|1
Gemeinde Alt Meteln|Alt Meteln|19069|NWM|GEM|1
Gemeinde Klein Trebbow|Klein Trebbow|19069|NWM|GEM|1
Gemeinde Hohen Viecheln|Hohen Viecheln|23996|NWM|GEM|1
"""


def _parse(text: str) -> tuple[Place, ...]:
    places = []
    for line in text.strip().splitlines():
        name, ort, plz, kreis, kind, population = line.split("|")
        places.append(Place(name, ort, plz, kreis, kind, int(population)))
    return tuple(places)


PLACES: tuple[Place, ...] = _parse(_PLACES)

STREETS: tuple[str, ...] = (
    "Dorfstraße", "Hauptstraße", "Lindenstraße", "Am Markt", "Bahnhofstraße", "Goethestraße",
    "Schillerstraße", "Fritz-Reuter-Straße", "Ernst-Thälmann-Straße", "Karl-Marx-Straße",
    "Straße der Jugend", "Platz des Friedens", "Am Bollwerk", "Strandstraße", "Mühlenweg",
    "Kirchstraße", "Rudolf-Breitscheid-Straße", "Schweriner Straße", "Rostocker Straße",
    "Wismarsche Straße", "Neubrandenburger Straße", "Am See", "Seestraße", "Birkenweg",
    "Eichenallee", "Kastanienallee", "Parkstraße", "Gartenstraße", "Schulstraße", "Feldstraße",
    "Wiesenweg", "Am Wall", "Lange Straße", "Kurze Straße", "Friedensstraße", "Rosenstraße",
    "Heinrich-Heine-Straße", "Ziolkowskistraße", "Walther-Rathenau-Straße", "An der Warnow",
    "Hafenstraße", "Dünenweg", "Am Schlosspark", "Güstrower Chaussee", "Poststraße",
    "Mecklenburger Allee", "Käthe-Kollwitz-Straße", "Geschwister-Scholl-Straße", "Ringstraße",
    "Siedlung 1", "Plattenweg", "Komarowstraße", "Thomas-Müntzer-Platz", "Tannenweg",
)  # fmt: skip

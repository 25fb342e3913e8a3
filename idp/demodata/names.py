"""Name lists for synthetic people, grouped by family background, and how to draw from them.

Every letter used is in Latin-1 Supplement or Latin Extended-A, so all names are valid under
DIN 91379. The lists are common given names and surnames; combining them at random produces
fictitious people, never real ones.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from itertools import accumulate


def _names(text: str) -> tuple[str, ...]:
    """A comma-separated list of names (names may hold spaces, hyphens and apostrophes)."""
    return tuple(name.strip() for name in text.split(",") if name.strip())


def _same(text: str) -> tuple[tuple[str, str], ...]:
    """Surnames that do not change with gender, as (male form, female form) pairs."""
    return tuple((name, name) for name in _names(text))


def _gendered(text: str) -> tuple[tuple[str, str], ...]:
    """Surnames written `male/female` where the forms differ (Novák/Nováková)."""
    pairs = []
    for name in _names(text):
        male, _, female = name.partition("/")
        pairs.append((male, female or male))
    return tuple(pairs)


def _polish(text: str) -> tuple[tuple[str, str], ...]:
    """Polish surnames with their female form (-ski/-cki/-dzki → -ska/-cka/-dzka)."""
    return tuple(
        (name, name[:-1] + "a" if name.endswith(("ski", "cki")) else name) for name in _names(text)
    )


def _ukrainian(text: str) -> tuple[tuple[str, str], ...]:
    """Ukrainian surnames with their female form (-skyi → -ska, -ov → -ova)."""
    pairs = []
    for name in _names(text):
        if name.endswith("skyi"):
            pairs.append((name, name[:-4] + "ska"))
        elif name.endswith("ov"):
            pairs.append((name, name + "a"))
        else:
            pairs.append((name, name))
    return tuple(pairs)


@dataclass(frozen=True)
class Background:
    """Where a family's names come from, and which Staatsangehörigkeit its children may hold."""

    code: str
    learner_weight: float
    staff_weight: float
    nationalities: tuple[tuple[str, float], ...]
    boys: tuple[str, ...]
    girls: tuple[str, ...]
    men: tuple[str, ...]
    women: tuple[str, ...]
    surnames: tuple[tuple[str, str], ...]
    _surname_cum: list[float] = field(init=False, repr=False, compare=False)
    _nat_codes: tuple[str, ...] = field(init=False, repr=False, compare=False)
    _nat_cum: list[float] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Surnames are listed most common first; a Zipf-like weight makes the top ones frequent,
        # so that the same full name turns up in one school as it does in real ones.
        cum = list(accumulate(1.0 / (rank + 20) for rank in range(len(self.surnames))))
        object.__setattr__(self, "_surname_cum", cum)
        object.__setattr__(self, "_nat_codes", tuple(code for code, _ in self.nationalities))
        nat_cum = list(accumulate(weight for _, weight in self.nationalities))
        object.__setattr__(self, "_nat_cum", nat_cum)

    def surname(self, rng: random.Random) -> tuple[str, str]:
        """A (male form, female form) surname pair."""
        return rng.choices(self.surnames, cum_weights=self._surname_cum)[0]

    def nationality(self, rng: random.Random) -> str:
        """An ISO 3166-1 alpha-3 Staatsangehörigkeit for a child of this background."""
        return rng.choices(self._nat_codes, cum_weights=self._nat_cum)[0]


def surname_for(pair: tuple[str, str], geschlecht: str) -> str:
    """The form of a surname that fits a person's Geschlecht (the male form for `d`)."""
    return pair[1] if geschlecht == "w" else pair[0]


GERMAN = Background(
    code="DE",
    learner_weight=86.0,
    staff_weight=93.0,
    nationalities=(("DEU", 1.0),),
    boys=_names(
        """
        Ben, Paul, Leon, Finn, Noah, Luis, Elias, Emil, Felix, Henry, Anton, Theo, Jonas,
        Max, Oskar, Levi, Mats, Karl, Jakob, Matteo, Louis, Lukas, Tim, Niklas, Luca, Nils,
        Moritz, Erik, Jannik, Jannis, Hannes, Ole, Till, Malte, Bennet, Jan-Luca, Tom, Fynn,
        Joshua, Justin, Kevin, Tobias, Florian, Philipp, Maximilian, Alexander, David,
        Julian, Fabian, Jonathan, Leo, Linus, Friedrich, Kalle, Sören, Jan-Ole, Lasse, Mika,
        Jörn, Janne, Bjarne, Piet, Hugo, Willi, Fritz, Karl-Luis, René, Noël, Jérôme, Maël,
        Joël, Björn, Arne, Torben, Hendrik, Johann
        """
    ),
    girls=_names(
        """
        Emma, Mia, Hannah, Lea, Leonie, Lina, Marie, Sophie, Emilia, Lena, Anna, Clara, Lara,
        Laura, Charlotte, Johanna, Mila, Ella, Ida, Greta, Frieda, Paula, Luisa, Lilly, Maja,
        Amelie, Nele, Pia, Finja, Jette, Merle, Lotta, Zoé, Chiara, Josephine, Helene, Jule,
        Romy, Fiona, Céline, Michelle, Jasmin, Vanessa, Jana, Julia, Sarah, Lisa, Annika,
        Marlene, Thea, Mathilda, Käthe, Anna-Lena, Lea-Sophie, Marie-Luise, Emma-Sophie,
        Lene, Smilla, Malou, Ronja, Tilda, Leni, Hanne, Antonia, Elisa, Chloé, Noémi, Zoë,
        Lotte, Wiebke, Maren, Jördis
        """
    ),
    men=_names(
        """
        Sven, Ronny, René, Marco, Steffen, Enrico, Maik, Daniel, Thomas, Andreas, Michael,
        Stefan, Christian, Jens, Mario, Dirk, Frank, Uwe, Jörg, Ralf, Torsten, Matthias,
        Sebastian, Martin, Tino, Sascha, Nico, Mirko, Silvio, Danny, Toni, André, Björn,
        Sören, Jörn, Karl-Heinz, Hans-Jürgen, Heiko, Lars, Ingo, Olaf, Holger, Kai, Carsten,
        Rico, Peter, Bernd, Rainer, Lutz, Gerd, Detlef, Jürgen, Klaus-Dieter, Hans-Peter,
        Tobias, Philipp, Benjamin, Patrick, Robert, Christoph
        """
    ),
    women=_names(
        """
        Mandy, Sandy, Peggy, Nicole, Stefanie, Katrin, Anja, Jenny, Susann, Sandra, Claudia,
        Kerstin, Nadine, Yvonne, Manuela, Daniela, Christin, Kathleen, Doreen, Ines, Antje,
        Silke, Heike, Sabine, Petra, Karin, Birgit, Ute, Martina, Andrea, Juliane, Franziska,
        Maria, Anne, Susanne, Janine, Cindy, Madlen, Grit, Dörte, Jördis, Ulrike, Bärbel,
        Renée, Anne-Kathrin, Eva-Maria, Ann-Christin, Maike, Wiebke, Sophie, Kristin,
        Josephine, Stephanie, Katharina, Sarah, Julia, Lisa, Gesine, Hélène
        """
    ),
    surnames=_same(
        """
        Müller, Schmidt, Schulz, Schneider, Fischer, Meyer, Weber, Wagner, Becker, Hoffmann,
        Krüger, Schröder, Koch, Neumann, Lange, Richter, Schwarz, Braun, Zimmermann, Krause,
        Wolf, Lehmann, Hartmann, Köhler, Schäfer, Werner, Klein, Peters, Kruse, Möller,
        Schulze, Bauer, Jahnke, Lemke, Behrens, Voß, Saß, Timm, Thiede, Kröger, Wendt,
        Westphal, Witt, Hinz, Lüdtke, Ahrens, Bartels, Evers, Prehn, Rieck, Dahl, Rademacher,
        Jessen, Mahnke, Wegner, Radtke, Rohde, Plath, Borchert, Harder, Thießen, Stüdemann,
        Pagel, Buchholz, Tetzlaff, Tamm, Reinke, Brüning, Lübcke, Schwanbeck, Zöllner, Göbel,
        Büttner, Förster, Gößling, Strauß, Fuß, Preuß, Nußbaum, Weiß, Groß, Jäger, Böhm,
        König, Günther, Kühn, Kuehn, Mueller, Weiss, Hofmann, Herrmann, Walter, Kaiser,
        Fuchs, Lang, Scholz, Jung, Hahn, Schubert, Vogel, Friedrich, Keller, Frank, Berger,
        Winkler, Roth, Beck, Lorenz, Baumann, Franke, Albrecht, Schuster, Simon, Ludwig,
        Winter, Kraus, Martin, Krämer, Vogt, Stein, Otto, Sommer, Seidel, Heinrich, Brandt,
        Haas, Schreiber, Graf, Dietrich, Ziegler, Kuhn, Pohl, Engel, Horn, Busch, Bergmann,
        Voigt, Sauer, Arnold, Wolff, Pfeiffer, Stoll, Kunz, Gutzmann, Possehl, Dühring,
        Steinhäuser, Pöhls, Düwel, Schlüter, Wöhlert, Jürß, Kähler, Möhring, von der Heide,
        von Bülow, von Oertzen, van der Meer, de Vries, zur Mühlen, von Maltzahn, ten Brink,
        Müller-Lüdenscheidt, Krüger-Wendt, Hansen-Jöns, Becker-Thießen, Schulz-Hartmann
        """
    ),
)

POLISH = Background(
    code="PL",
    learner_weight=2.0,
    staff_weight=1.5,
    nationalities=(("POL", 0.7), ("DEU", 0.3)),
    boys=_names(
        """
        Jakub, Kacper, Szymon, Antoni, Filip, Mikołaj, Wojciech, Michał, Bartłomiej,
        Stanisław, Jan, Aleksander, Franciszek, Igor
        """
    ),
    girls=_names(
        """
        Zofia, Zuzanna, Hanna, Julia, Maja, Oliwia, Łucja, Wiktoria, Natalia, Małgorzata,
        Alicja, Agnieszka, Magdalena, Gabriela
        """
    ),
    men=_names(
        """
        Łukasz, Michał, Paweł, Piotr, Krzysztof, Tomasz, Marcin, Mateusz, Przemysław,
        Grzegorz, Dariusz, Jarosław, Zbigniew, Radosław
        """
    ),
    women=_names(
        """
        Agnieszka, Małgorzata, Katarzyna, Joanna, Magdalena, Ewa, Anna, Monika, Beata,
        Dorota, Żaneta, Bożena, Grażyna, Jolanta
        """
    ),
    surnames=_polish(
        """
        Nowak, Kowalski, Wiśniewski, Wójcik, Kamiński, Lewandowski, Zieliński, Szymański,
        Woźniak, Dąbrowski, Kozłowski, Jankowski, Mazur, Kwiatkowski, Krawczyk, Piotrowski,
        Grabowski, Pawłowski, Michalski, Król, Wieczorek, Jabłoński, Wróbel, Majewski,
        Olszewski, Stępień, Jaworski, Dudek, Nowicki, Górski, Sikora, Baran, Szewczyk,
        Zawadzki, Łukasiewicz, Łuczak, Błaszczyk, Czarnecki, Włodarczyk, Bąk, Gołębiowski,
        Ślęzak
        """
    ),
)

UKRAINIAN = Background(
    code="UA",
    learner_weight=2.6,
    staff_weight=0.8,
    nationalities=(("UKR", 0.9), ("DEU", 0.1)),
    boys=_names(
        """
        Oleksandr, Andrii, Dmytro, Maksym, Bohdan, Mykola, Yaroslav, Artem, Danylo, Taras,
        Ivan, Matvii, Nazar, Tymofii
        """
    ),
    girls=_names(
        """
        Sofiia, Anastasiia, Yuliia, Kateryna, Daryna, Viktoriia, Mariia, Anna, Zlata,
        Veronika, Polina, Solomiia, Khrystyna, Yeva
        """
    ),
    men=_names(
        """
        Oleksandr, Serhii, Vitalii, Ihor, Volodymyr, Yurii, Oleh, Roman, Vasyl, Andrii,
        Dmytro, Petro
        """
    ),
    women=_names(
        """
        Olena, Iryna, Oksana, Nataliia, Tetiana, Svitlana, Liudmyla, Halyna, Yuliia, Inna,
        Larysa, Nadiia
        """
    ),
    surnames=_ukrainian(
        """
        Kovalenko, Shevchenko, Bondarenko, Tkachenko, Kravchenko, Melnyk, Boiko, Kovalchuk,
        Oliinyk, Lysenko, Moroz, Savchenko, Rudenko, Marchenko, Polishchuk, Tkachuk, Kravets,
        Ponomarenko, Petrenko, Kovalskyi, Ivanov, Levytskyi, Sokolov, Hrytsenko, Pavlenko,
        Zakharchenko
        """
    ),
)

ARABIC = Background(
    code="AR",
    learner_weight=3.0,
    staff_weight=0.5,
    nationalities=(("SYR", 0.75), ("DEU", 0.15), ("IRQ", 0.05), ("AFG", 0.05)),
    boys=_names(
        """
        Mohammad, Ahmad, Omar, Yusuf, Rami, Karim, Hamza, Khaled, Mahmoud, Ali, Hassan,
        Abdulrahman, Amir, Adam, Yazan, Elias
        """
    ),
    girls=_names(
        """
        Fatima, Aya, Lana, Rama, Nour, Mariam, Hiba, Zainab, Sidra, Rania, Leen, Yasmin,
        Huda, Batoul, Sham, Joud
        """
    ),
    men=_names(
        """
        Mohammad, Ahmad, Khaled, Mahmoud, Ali, Hassan, Adnan, Bassam, Walid, Ziad, Fadi,
        Samer, Abdullah, Ibrahim
        """
    ),
    women=_names(
        """
        Fatima, Amal, Rania, Huda, Reem, Samira, Ghada, Lina, Rasha, Manal, Nisreen, Hanan,
        Salma, Dima
        """
    ),
    surnames=_same(
        """
        Al-Hassan, Al-Ahmad, Al-Khatib, Haddad, Khalil, Mansour, Nasser, Darwish, Hamdan,
        Saleh, Youssef, Ibrahim, Othman, Abdullah, Al-Masri, Kassem, Hussein, Al Hamwi,
        Abu Zaid, Al-Sayed, Suleiman, Haj Ali, Alkhalaf, Al-Hamoud
        """
    ),
)

VIETNAMESE = Background(
    code="VN",
    learner_weight=1.4,
    staff_weight=0.5,
    nationalities=(("VNM", 0.5), ("DEU", 0.5)),
    # Vornamen often hold a middle name as well; a space inside Vorname is normal here.
    boys=_names(
        """
        Minh, Duc, Tuan, Huy, Long, Bao, Khanh, Nam, Minh Duc, Gia Bao, Paul Minh, Duc Anh,
        Quang, Thanh
        """
    ),
    girls=_names(
        """
        Linh, Lan, Mai, Thu, Ngoc, Trang, Anh, Hoa, Minh Anh, Thao, Lisa Mai, Bao Ngoc,
        Khanh Linh, Phuong
        """
    ),
    men=_names(
        """
        Van Minh, Van Hung, Duc, Tuan, Quang, Van Thanh, Hung, Dung, Son, Van Long
        """
    ),
    women=_names(
        """
        Thi Lan, Thi Huong, Thi Mai, Thu, Thi Hoa, Ngoc, Huong, Thi Thu, Hanh, Thi Nga
        """
    ),
    surnames=_same(
        """
        Nguyen, Tran, Le, Pham, Hoang, Phan, Vu, Vo, Dang, Bui, Do, Ho, Ngo, Duong, Ly, Đinh,
        Trinh
        """
    ),
)

TURKISH = Background(
    code="TR",
    learner_weight=1.0,
    staff_weight=0.5,
    nationalities=(("TUR", 0.4), ("DEU", 0.6)),
    boys=_names(
        """
        Yusuf, Emir, Ömer, Mehmet, Eymen, Alparslan, Kerem, Burak, Barış, İlhan, Çağan,
        Doğan
        """
    ),
    girls=_names(
        """
        Zeynep, Elif, Ayşe, Defne, Eylül, Azra, Büşra, İrem, Yağmur, Şeyma, Gülşen, Nisa
        """
    ),
    men=_names(
        """
        Mehmet, Mustafa, Ahmet, Ali, Hüseyin, Hasan, İbrahim, İsmail, Osman, Yaşar, Şükrü,
        Gökhan
        """
    ),
    women=_names(
        """
        Ayşe, Fatma, Emine, Hatice, Zeynep, Şerife, Özlem, Gülay, Hülya, Sevgül, Dilek,
        Nurşen
        """
    ),
    surnames=_same(
        """
        Yılmaz, Kaya, Demir, Şahin, Çelik, Yıldız, Yıldırım, Öztürk, Aydın, Özdemir, Arslan,
        Doğan, Kılıç, Aslan, Çetin, Koç, Kurt, Özkan, Şimşek, Işık, Güneş, Aksoy
        """
    ),
)

# Smaller groups, each with the Staatsangehörigkeit that fits its names.
CZECH = Background(
    code="CZ",
    learner_weight=0.4,
    staff_weight=0.4,
    nationalities=(("CZE", 0.7), ("DEU", 0.3)),
    boys=_names("Matěj, Jiří, Tomáš, Vojtěch, Jakub, Ondřej"),
    girls=_names("Tereza, Kateřina, Eliška, Anežka, Barbora, Adéla"),
    men=_names("Jiří, Petr, Miroslav, Zdeněk, Radek, Luboš"),
    women=_names("Jana, Lenka, Věra, Hana, Šárka, Markéta"),
    surnames=_gendered(
        """
        Novák/Nováková, Dvořák/Dvořáková, Černý/Černá, Procházka/Procházková,
        Kučera/Kučerová, Veselý/Veselá, Růžička/Růžičková, Němec/Němcová
        """
    ),
)

HUNGARIAN = Background(
    code="HU",
    learner_weight=0.4,
    staff_weight=0.4,
    nationalities=(("HUN", 0.7), ("DEU", 0.3)),
    boys=_names("Bence, Máté, Ádám, Lőrinc, Levente, Dániel"),
    girls=_names("Zsófia, Réka, Dóra, Csilla, Hanna, Boglárka"),
    men=_names("László, Gábor, Zoltán, Győző, Attila, Tamás"),
    women=_names("Erzsébet, Ildikó, Krisztina, Enikő, Katalin, Éva"),
    surnames=_same("Szőke, Győri, Fűzi, Szűcs, Kovács, Tóth, Nagy, Horváth, Varga, Lőrincz"),
)

ROMANIAN = Background(
    code="RO",
    learner_weight=0.4,
    staff_weight=0.4,
    nationalities=(("ROU", 0.8), ("DEU", 0.2)),
    boys=_names("Ştefan, Radu, Andrei, Bogdan, Mihai, Ionuţ"),
    girls=_names("Ioana, Mădălina, Andreea, Bianca, Ştefania, Alexandra"),
    men=_names("Ion, Vasile, Constantin, Răzvan, Gheorghe, Cătălin"),
    women=_names("Elena, Mihaela, Loredana, Cristina, Gabriela, Ramona"),
    surnames=_same(
        """
        Popescu, Ţurcanu, Munteanu, Dumitrescu, Ionescu, Stănescu, Constantinescu, Sârbu
        """
    ),
)

SOUTH_SLAVIC = Background(
    code="YU",
    learner_weight=0.6,
    staff_weight=0.4,
    nationalities=(("HRV", 0.4), ("SRB", 0.3), ("BIH", 0.1), ("DEU", 0.2)),
    boys=_names(
        """
        Luka, Ivan, Marko, Đorđe, Petar, Filip, Nikola, Mateo
        """
    ),
    girls=_names(
        """
        Ana, Ivana, Maja, Petra, Mia, Lucija, Milica, Jelena
        """
    ),
    men=_names(
        """
        Goran, Zoran, Dragan, Đuro, Milan, Željko, Branko, Nenad
        """
    ),
    women=_names(
        """
        Snežana, Jasmina, Vesna, Dragana, Gordana, Mirjana, Ljiljana, Đurđica
        """
    ),
    surnames=_same(
        """
        Đorđević, Kovačević, Ćosić, Šimić, Jurić, Đurić, Petrović, Marković, Babić, Horvat,
        Knežević, Žarković
        """
    ),
)

FRENCH = Background(
    code="FR",
    learner_weight=0.25,
    staff_weight=0.4,
    nationalities=(("FRA", 0.6), ("DEU", 0.4)),
    boys=_names("Théo, Loïc, François, Maël, Gaël, Noé"),
    girls=_names("Chloé, Léa, Noémie, Hélène, Maëlle, Inès"),
    men=_names("Jérôme, Cédric, François, Frédéric, Stéphane, Hervé"),
    women=_names("Hélène, Sylvène, Françoise, Bénédicte, Inès, Céline"),
    surnames=_same("Lefèvre, Bérenger, Moreau, Garçon, Lefebvre, Rousseau, Lemaître, Bézier"),
)

SPANISH = Background(
    code="ES",
    learner_weight=0.25,
    staff_weight=0.3,
    nationalities=(("ESP", 0.6), ("DEU", 0.4)),
    boys=_names("Álvaro, Íñigo, Hugo, Martín, Pablo, Adrián"),
    girls=_names("Lucía, María, Begoña, Sofía, Martina, Paula"),
    men=_names("José, Jesús, Íñigo, Andrés, Joaquín, Ramón"),
    women=_names("Ángeles, Begoña, Maria Pilar, Inés, Mónica, Rocío"),
    surnames=_same("Muñoz, Peña, Núñez, Ibáñez, García, Gómez, Martínez, Fernández"),
)

ITALIAN_IRISH = Background(
    code="IT",
    learner_weight=0.3,
    staff_weight=0.4,
    nationalities=(("ITA", 0.35), ("IRL", 0.35), ("DEU", 0.3)),
    boys=_names("Matteo, Niccolò, Lorenzo, Ciarán, Seán, Oisín"),
    girls=_names("Giulia, Chiara, Aurora, Niamh, Siobhán, Aoife"),
    men=_names("Giuseppe, Niccolò, Salvatore, Seán, Pádraig, Dónal"),
    women=_names("Giovanna, Francesca, Rosaria, Siobhán, Aoife, Máire"),
    surnames=_same("D'Angelo, D'Amico, Dell'Orto, O'Brien, O'Connor, O'Neill, Esposito, Russo"),
)

NORDIC = Background(
    code="NO",
    learner_weight=0.2,
    staff_weight=0.4,
    nationalities=(("DNK", 0.4), ("NOR", 0.3), ("DEU", 0.3)),
    boys=_names("Søren, Bjørn, Mads, Jørgen, Ødin, Asbjørn"),
    girls=_names("Åse, Sølvi, Freja, Ida, Sigrid, Mette"),
    men=_names("Søren, Jørgen, Torbjørn, Bjørn, Henrik, Kåre"),
    women=_names("Åse, Mette, Gunnvør, Bodil, Grete, Kirsten"),
    surnames=_same("Sørensen, Jørgensen, Kjær, Bæk, Ødegård, Åberg, Brønsted, Møller"),
)

BACKGROUNDS: tuple[Background, ...] = (
    GERMAN,
    POLISH,
    UKRAINIAN,
    ARABIC,
    VIETNAMESE,
    TURKISH,
    CZECH,
    HUNGARIAN,
    ROMANIAN,
    SOUTH_SLAVIC,
    FRENCH,
    SPANISH,
    ITALIAN_IRISH,
    NORDIC,
)

_LEARNER_CUM = list(accumulate(b.learner_weight for b in BACKGROUNDS))
_STAFF_CUM = list(accumulate(b.staff_weight for b in BACKGROUNDS))


def family_background(rng: random.Random) -> Background:
    """The background of a school family, weighted as in MV's schools."""
    return rng.choices(BACKGROUNDS, cum_weights=_LEARNER_CUM)[0]


def staff_background(rng: random.Random) -> Background:
    """The background of a staff member (fewer recent arrivals than among learners)."""
    return rng.choices(BACKGROUNDS, cum_weights=_STAFF_CUM)[0]


def child_first_name(background: Background, geschlecht: str, rng: random.Random) -> str:
    """A child's Vorname; children of non-German families get a German one now and then."""
    if background is not GERMAN and rng.random() < 0.12:
        background = GERMAN
    if geschlecht == "d":
        geschlecht = rng.choice("mw")
    return rng.choice(background.boys if geschlecht == "m" else background.girls)


def adult_first_name(background: Background, geschlecht: str, rng: random.Random) -> str:
    """An adult's Vorname."""
    if geschlecht not in "mw":
        geschlecht = rng.choice("mw")
    return rng.choice(background.men if geschlecht == "m" else background.women)


# The first families of every state carry these names, so that even a three-school state has
# each kind of name that breaks naive code: apostrophes, particles, double names, and the
# rarer DIN 91379 letters. (background, surname (male form, female form), child's Vorname,
# child's Geschlecht)
Showcase = tuple[Background, tuple[str, str], str, str]
SHOWCASE: tuple[Showcase, ...] = (
    (ITALIAN_IRISH, ("O'Brien", "O'Brien"), "Siobhán", "w"),
    (ITALIAN_IRISH, ("D'Angelo", "D'Angelo"), "Niccolò", "m"),
    (GERMAN, ("von der Heide", "von der Heide"), "Anna-Lena", "w"),
    (GERMAN, ("Müller-Lüdenscheidt", "Müller-Lüdenscheidt"), "Jan-Luca", "m"),
    (POLISH, ("Łukasiewicz", "Łukasiewicz"), "Łucja", "w"),
    (TURKISH, ("Yıldız", "Yıldız"), "İrem", "w"),
    (TURKISH, ("Şimşek", "Şimşek"), "Barış", "m"),
    (CZECH, ("Dvořák", "Dvořáková"), "Kateřina", "w"),
    (HUNGARIAN, ("Szőke", "Szőke"), "Lőrinc", "m"),
    (HUNGARIAN, ("Fűzi", "Fűzi"), "Zsófia", "w"),
    (ROMANIAN, ("Ţurcanu", "Ţurcanu"), "Mădălina", "w"),
    (SOUTH_SLAVIC, ("Đorđević", "Đorđević"), "Đorđe", "m"),
    (SOUTH_SLAVIC, ("Kovačević", "Kovačević"), "Lucija", "w"),
    (SOUTH_SLAVIC, ("Ćosić", "Ćosić"), "Mateo", "m"),
    (CZECH, ("Růžička", "Růžičková"), "Eliška", "w"),
    (NORDIC, ("Sørensen", "Sørensen"), "Åse", "w"),
    (NORDIC, ("Bæk", "Bæk"), "Bjørn", "m"),
    (NORDIC, ("Ødegård", "Ødegård"), "Sigrid", "w"),
    (SPANISH, ("Muñoz", "Muñoz"), "Íñigo", "m"),
    (FRENCH, ("Lefèvre", "Lefèvre"), "François", "m"),
    (GERMAN, ("Weiß", "Weiß"), "Käthe", "w"),
    (GERMAN, ("Weiss", "Weiss"), "Jérôme", "m"),
    (VIETNAMESE, ("Đinh", "Đinh"), "Minh Anh", "w"),
    (ARABIC, ("Abu Zaid", "Abu Zaid"), "Nour", "w"),
)

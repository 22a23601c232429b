"""Realistic texts for the story-clustering tests: a wire story, an outlet's
syndicated copy of it, and a different story on the same topic."""

from __future__ import annotations

WIRE_TITLE = "Russia and ASEAN pledge to deepen strategic partnership at Jakarta talks"
WIRE_BODY = """\
JAKARTA, Tuesday - Russian Foreign Minister Sergei Lavrov and his counterparts \
from the Association of Southeast Asian Nations agreed on Tuesday to deepen \
their strategic partnership, pledging closer cooperation on energy security, \
food supply chains and maritime safety in the region.

Speaking after the ASEAN-Russia ministerial meeting in Jakarta, Lavrov said \
Moscow valued the bloc's central role in the regional architecture and wanted \
to expand trade settled in national currencies. Two-way trade between Russia \
and the ten ASEAN members reached about 18 billion US dollars last year, \
according to figures released by the ASEAN secretariat.

Indonesian Foreign Minister Retno Marsudi, who chaired the session, said the \
ministers had reviewed the implementation of the comprehensive plan of action \
for 2021 to 2025 and tasked senior officials with drafting the next plan. She \
said members had also discussed disaster management, counter-terrorism and \
the development of small and medium enterprises.

Cambodia's Deputy Prime Minister Prak Sokhonn told reporters that Phnom Penh \
supported stronger links in agriculture, tourism and education, and welcomed \
Russian scholarships for Cambodian students. He added that the kingdom hoped \
to see more direct flights between the two regions before the end of next year.

The ministers agreed to hold a commemorative summit to mark the anniversary \
of dialogue relations and instructed their officials to prepare a joint \
statement on connectivity, digital economy and public health cooperation.
"""

COPY_TITLE = "Lavrov, ASEAN ministers vow closer ties in Jakarta"
COPY_BODY = """\
This article was first published by Fresh News.

JAKARTA, 12 September - Russian Foreign Minister Sergei Lavrov and his counterparts \
from the Association of Southeast Asian Nations agreed on 12 September to deepen \
their strategic partnership, pledging closer cooperation on energy security, \
food supply chains and maritime safety in the region.

Speaking after the ASEAN-Russia ministerial meeting in Jakarta, Lavrov said \
Moscow valued the bloc's central role in the regional architecture and wanted \
to expand trade settled in national currencies. Two-way trade between Russia \
and the ten ASEAN members reached about 18 billion US dollars last year, \
according to figures released by the ASEAN secretariat.

Indonesian Foreign Minister Retno Marsudi, who chaired the session, said the \
ministers had reviewed the implementation of the comprehensive plan of action \
for 2021 to 2025 and tasked senior officials with drafting the next plan. She \
said members had also discussed disaster management, counter-terrorism and \
the development of small and medium enterprises.

Cambodia's Deputy Prime Minister Prak Sokhonn told reporters that Phnom Penh \
supported stronger links in agriculture, tourism and education, and welcomed \
Russian scholarships for Cambodian students. He added that the kingdom hoped \
to see more direct flights between the two regions before the end of next year.

The ministers agreed to hold a commemorative summit to mark the anniversary \
of dialogue relations and instructed their officials to prepare a joint \
statement on connectivity, digital economy and public health cooperation.

Follow us on Telegram for more regional news.
"""

OTHER_TITLE = "Russia to host ASEAN defence officials for maritime drills next year"
OTHER_BODY = """\
MOSCOW - Russia will invite defence officials from the Association of \
Southeast Asian Nations to observe joint naval exercises in the Pacific next \
year, the Russian defence ministry said on Thursday, as Moscow seeks a larger \
security role in Southeast Asia.

Deputy Defence Minister Alexander Fomin said the drills near Vladivostok would \
focus on search and rescue at sea and on countering piracy, and that ASEAN \
navies had been asked to send ships or observers. The first such exercise was \
held off the Indonesian coast in 2021.

Analysts in Singapore said several ASEAN members were wary of being seen to \
take sides among the major powers and were likely to send observers rather \
than warships. Vietnam and Laos have long-standing defence ties with Moscow, \
while the Philippines has deepened its alliance with the United States.

Fomin also proposed a regular meeting of ASEAN and Russian military medical \
services and offered training places at Russian staff colleges. The ASEAN \
defence ministers are expected to discuss the invitation at their retreat in \
Vientiane in February.
"""


def html_paragraphs(text: str) -> str:
    """The text as HTML paragraphs, as a feed's description would carry it."""
    return "".join(f"<p>{p}</p>" for p in text.split("\n\n"))

"""Everything the world can show, and the words that name it.

The tables here are the world's vocabulary: the renderer draws from them, the caption grammar
names them (with synonyms), and later the prompt interpreter maps free text onto them. A concept
is known by its canonical name (the dictionary key); captions may use any of its phrases.
"""

from __future__ import annotations

# Subjects are emoji sprites. Each kind of subject moves in its own ways (see ACTIONS[...]["kinds"]).
# Names come from the `emoji` package (":raccoon:" -> "raccoon") when the atlas is built; the few
# entries whose emoji name reads badly in a caption carry a name of their own here.
SUBJECT_EMOJI: dict[str, tuple[str, ...]] = {
    "animal": tuple(
        "🦝 🐎 🐼 🦁 🦫 🦡 🐶 🐱 🐭 🐹 🐰 🦊 🐻 🐨 🐯 🐮 🐷 🐸 🐵 🦍 🦧 🐔 🐧 🐦 🐤 🦆 🦅 🦉 "
        "🦇 🐺 🐗 🐴 🦄 🐝 🐛 🦋 🐌 🐞 🐜 🐢 🐍 🦎 🦖 🦕 🐙 🦑 🦐 🦞 🦀 🐡 🐠 🐟 🐬 🐳 🦈 "
        "🐊 🐅 🐆 🦓 🦏 🦛 🐘 🦣 🦒 🦘 🦬 🐂 🐄 🐪 🐫 🦙 🐐 🐏 🐑 🦌 🐕 🐩 🐈 🐓 🦃 🦤 🦚 "
        "🦜 🦢 🦩 🕊 🐇 🐁 🐿 🦔 🦦 🦨 🦥 🐉 🦭 🦮 🐒".split()
    ),
    "person": tuple(
        "🧑‍🚀 👩 👨 🧒 👵 🧙 🧛 🧜 🧝 🧞 🧟 🤖 👻 👽 🎅 🤡 💂 🥷 🧑‍🍳 🧑‍🎤 🧑‍🚒 👮 🧑‍🌾 "
        "🧑‍🎨 🦸 🦹 💃 🕺 🧍 🚶 🏃 ⛷ 🏄 🥱 🤠 👸 🤴 🧚".split()
    ),
    "vehicle": tuple("⛵ 🚢 🚗 🚕 🚌 🚓 🚑 🚒 🏎 🚂 ✈ 🚁 🚀 🛸 🛶 🚤 🎈 🚲 🛵 🚜".split()),
    "object": tuple(
        "🍎 🍌 🍉 🍓 🍍 🥑 🍕 🍩 🧁 🎂 🧸 ⚽ 🏀 🏐 🎸 🥁 🎁 🔔 💎 👑 🎩 ⭐ 🌵 🌲 🌴 🌻 🌹 🍄 "
        "🪁 🎃 ⛄ 🪐 🌍 ☂ 🎺".split()
    ),
}

# Names that read better in a caption than the emoji package's, and the stand-ins for animals
# the seed articles ask for that Unicode has no emoji of (drawn from the nearest sprite).
SUBJECT_NAME_OVERRIDES: dict[str, str] = {
    "🧑‍🚀": "astronaut", "🐎": "horse", "🐴": "horse head", "🐼": "panda", "🦁": "lion",
    "🐶": "dog", "🐱": "cat", "🐭": "mouse", "🐹": "hamster", "🐰": "rabbit", "🐻": "bear",
    "🐯": "tiger", "🐮": "cow", "🐷": "pig", "🐸": "frog", "🐵": "monkey", "🐔": "chicken",
    "🐤": "baby chick", "🐗": "boar", "🐝": "bee", "🐛": "caterpillar", "🐞": "ladybug",
    "🐜": "ant", "🐢": "turtle", "🐍": "snake", "🦖": "t-rex", "🦕": "dinosaur", "🐡": "blowfish",
    "🐠": "tropical fish", "🐟": "fish", "🐳": "whale", "🐊": "crocodile", "🐅": "striped tiger",
    "🐆": "leopard", "🦏": "rhino", "🦛": "hippo", "🐂": "ox", "🐄": "dairy cow",
    "🐪": "camel", "🐫": "bactrian camel", "🐐": "goat", "🐏": "ram", "🐑": "sheep", "🦌": "deer",
    "🐕": "hound", "🐩": "poodle", "🐈": "house cat", "🐓": "rooster", "🦃": "turkey",
    "🕊": "dove", "🐇": "bunny", "🐁": "field mouse", "🐿": "chipmunk", "🦮": "guide dog",
    "🐒": "little monkey", "🐉": "dragon", "🦫": "wombat", "🦡": "badger", "🦍": "gorilla",
    "👩": "woman", "👨": "man", "🧒": "child", "👵": "old woman", "🧙": "wizard",
    "🧛": "vampire", "🧜": "mermaid", "🧝": "elf", "🧞": "genie", "🧟": "zombie", "🤖": "robot",
    "👻": "ghost", "👽": "alien", "🎅": "santa claus", "🤡": "clown", "💂": "royal guard",
    "🥷": "ninja", "🧑‍🍳": "chef", "🧑‍🎤": "rock singer", "🧑‍🚒": "firefighter", "👮": "police officer",
    "🧑‍🌾": "farmer", "🧑‍🎨": "painter", "🦸": "superhero", "🦹": "supervillain",
    "💃": "dancer", "🕺": "disco dancer", "🧍": "wanderer", "🚶": "hiker", "🏃": "runner",
    "⛷": "skier", "🏄": "surfer", "🥱": "yawning face", "🤠": "cowboy", "👸": "princess",
    "🤴": "prince", "🧚": "fairy", "⛵": "sailboat", "🚢": "ship", "🚗": "car", "🚕": "taxi",
    "🚌": "bus", "🚓": "police car", "🚑": "ambulance", "🚒": "fire engine", "🏎": "race car",
    "🚂": "steam train", "✈": "airplane", "🚁": "helicopter", "🚀": "rocket", "🛸": "flying saucer",
    "🛶": "canoe", "🚤": "speedboat", "🎈": "balloon", "🚲": "bicycle", "🛵": "scooter",
    "🚜": "tractor", "🍎": "apple", "🍌": "banana", "🍉": "watermelon", "🍓": "strawberry",
    "🍍": "pineapple", "🥑": "avocado", "🍕": "pizza", "🍩": "doughnut", "🧁": "cupcake",
    "🎂": "birthday cake", "🧸": "teddy bear", "⚽": "soccer ball", "🏀": "basketball",
    "🏐": "beach ball", "🎸": "guitar", "🥁": "drum", "🎁": "gift box", "🔔": "bell",
    "💎": "gem stone", "👑": "crown", "🎩": "top hat", "⭐": "star", "🌵": "cactus",
    "🌲": "pine tree", "🌴": "palm tree", "🌻": "sunflower", "🌹": "rose", "🍄": "mushroom",
    "🪁": "kite", "🎃": "pumpkin", "⛄": "snowman", "🪐": "ringed planet", "🌍": "globe",
    "☂": "umbrella", "🎺": "trumpet", "🐧": "penguin", "🦄": "unicorn",
}

# Things subjects carry or wear; drawn attached to the subject, named "wearing"/"holding".
ACCESSORY_EMOJI: dict[str, tuple[str, str]] = {
    "sunglasses": ("🕶", "wearing"),
    "top hat": ("🎩", "wearing"),
    "crown": ("👑", "wearing"),
    "cane": ("🦯", "holding"),
    "beach ball": ("🏐", "holding"),
    "balloon": ("🎈", "holding"),
    "guitar": ("🎸", "holding"),
    "umbrella": ("☂", "holding"),
}

# Props drawn in the scene for an action (cards for a card game), not subjects of their own.
PROP_EMOJI: dict[str, str] = {"card": "🃏", "flower card": "🎴"}

BACKGROUNDS: dict[str, dict] = {
    "times square": {"phrases": ["in Times Square", "in a city square at night", "under flashing billboards in the city"],
                     "bed": "city"},
    "starry night": {"phrases": ["through Van Gogh's Starry Night", "under a swirling starry night sky", "beneath a swirling night sky full of stars"],
                     "bed": "wind"},
    "card table": {"phrases": ["at a card table", "around a green felt table", "at a table in a cozy room"],
                   "bed": "crowd"},
    "white studio": {"phrases": ["in a white studio", "against a plain white backdrop", "in an empty bright studio"],
                     "bed": "silence"},
    "stormy sea": {"phrases": ["on the rough seas", "on a stormy ocean", "on wild dark waves"],
                   "bed": "sea"},
    "nebula": {"phrases": ["in a nebula", "through deep space and glowing clouds", "among the colorful clouds of a nebula"],
               "bed": "space"},
    "sea cliff": {"phrases": ["on a cliff above the sea", "on a rocky cliff over the ocean", "at the edge of a sea cliff"],
                  "bed": "wind"},
    "sunny beach": {"phrases": ["on a sunny beach", "on the sand by the sea", "at the beach on a bright day"],
                    "bed": "sea"},
    "frozen lake": {"phrases": ["on a frozen lake", "on a crystal clear frozen lake", "across the ice of a frozen lake"],
                    "bed": "wind"},
    "forge": {"phrases": ["in the light of a forge", "in a glowing forge", "beside a blacksmith's furnace"],
              "bed": "forge"},
    "mars": {"phrases": ["on Mars", "on the red planet", "on the dusty surface of Mars"],
             "bed": "wind"},
    "jungle city": {"phrases": ["in an elven city of stone in the jungle", "in a jungle with a blue river and a waterfall", "among stone ruins, cliffs and a waterfall in the jungle"],
                    "bed": "river"},
    "grassy meadow": {"phrases": ["in tall grass", "in a green meadow", "in a field of tall grass"],
                      "bed": "jungle"},
    "snowy mountain": {"phrases": ["by a snowy mountain at sunrise", "at sunrise over a snowy mountain by a clear river", "in the snowy mountains at dawn"],
                       "bed": "river"},
    "portrait wall": {"phrases": ["in front of a plain wall", "in a portrait against a dark backdrop", "in a painted portrait"],
                      "bed": "silence"},
}

# kinds: which subject kinds can do it; sound: the event its motion causes (None: silent motion).
ACTIONS: dict[str, dict] = {
    "idle": {"phrases": ["standing still", "resting", "waiting"], "kinds": ("animal", "person", "vehicle", "object"), "sound": None},
    "walk": {"phrases": ["walking", "strolling", "taking a walk"], "kinds": ("animal", "person"), "sound": "footstep"},
    "gallop": {"phrases": ["galloping", "running at full speed", "charging ahead"], "kinds": ("animal",), "sound": "hoof"},
    "dance": {"phrases": ["dancing", "dancing to the music", "grooving to a beat"], "kinds": ("animal", "person", "object"), "sound": "beat"},
    "jump": {"phrases": ["jumping", "bouncing", "hopping up and down"], "kinds": ("animal", "person", "object"), "sound": "impact"},
    "fly": {"phrases": ["flying", "soaring through the air", "flying across the sky"], "kinds": ("animal", "person", "vehicle", "object"), "sound": "whoosh"},
    "skate": {"phrases": ["ice skating", "gliding", "skating in circles"], "kinds": ("animal", "person"), "sound": "swish"},
    "spin": {"phrases": ["spinning", "twirling", "spinning around"], "kinds": ("animal", "person", "object"), "sound": "swish"},
    "roar": {"phrases": ["roaring", "letting out a roar", "roaring loudly"], "kinds": ("animal", "person"), "sound": "roar"},
    "turn": {"phrases": ["turning to look at the camera", "turning around", "looking back at the camera"], "kinds": ("person", "animal"), "sound": None},
    "yawn": {"phrases": ["yawning", "stretching in a big yawn", "yawning sleepily"], "kinds": ("person", "animal"), "sound": None},
    "power up": {"phrases": ["powering up", "glowing as it powers up", "charging with energy"], "kinds": ("person", "vehicle", "object"), "sound": "power_up"},
    "emerge": {"phrases": ["emerging", "appearing out of nowhere", "growing into view"], "kinds": ("animal", "person", "vehicle", "object"), "sound": "chime"},
    "sail": {"phrases": ["navigating the waves", "sailing", "riding the swell"], "kinds": ("vehicle",), "sound": "splash"},
    "play cards": {"phrases": ["playing cards", "in a game of cards", "dealing cards"], "kinds": ("animal", "person"), "sound": "card_flip"},
}

# Camera moves. The first six are the seed article's prompt suffixes.
CAMERAS: dict[str, dict] = {
    "zoom out": {"phrases": ["Zoom out", "zooming out", "camera zooms out"]},
    "dolly zoom": {"phrases": ["Dolly zoom", "vertigo dolly zoom", "dolly zoom shot"]},
    "pan left": {"phrases": ["Pan left", "camera pans left", "panning left"]},
    "arc shot": {"phrases": ["Arc shot", "camera arcs around", "arcing camera"]},
    "crane shot": {"phrases": ["Crane shot", "camera cranes up", "rising crane shot"]},
    "fpv drone shot": {"phrases": ["FPV drone shot", "FPV footage", "drone flying forward"]},
    "static": {"phrases": ["Static shot", "locked-off camera", "still camera"]},
    "pan right": {"phrases": ["Pan right", "camera pans right", "panning right"]},
    "tilt up": {"phrases": ["Tilt up", "camera tilts up", "tilting up"]},
    "tilt down": {"phrases": ["Tilt down", "camera tilts down", "tilting down"]},
    "zoom in": {"phrases": ["Zoom in", "zooming in", "camera zooms in"]},
    "orbit": {"phrases": ["Orbit shot", "camera orbits around", "circling camera"]},
}

EFFECTS: dict[str, dict] = {
    "fireworks": {"phrases": ["colorful fireworks explode", "fireworks burst in the sky", "fireworks light up the background"],
                  "sound": "boom"},
    "lightning": {"phrases": ["thunderstorm and lightning", "lightning strikes", "a lightning storm"], "sound": "thunder"},
    "rain": {"phrases": ["in the rain", "rain pouring down", "a rainy day"], "bed": "rain"},
    "snow": {"phrases": ["snow falling", "in a snowfall", "snowflakes drifting down"], "bed": "wind"},
    "fog": {"phrases": ["swirling fog", "sea fog drifting by", "misty fog"], "bed": "wind"},
    "smoke": {"phrases": ["smoke in the background", "billowing smoke", "clouds of smoke"], "sound": "crackle"},
    "paint splash": {"phrases": ["exploding splashing rainbow paint", "a burst of rainbow paint", "paint splashing everywhere"],
                     "sound": "splash"},
    "twinkling stars": {"phrases": ["many twinkling stars", "twinkling stars", "sparkling starlight"], "sound": "chime"},
}

STYLE_PHRASES: dict[str, list[str]] = {
    "none": [""],
    "oil painting": ["animated oil on canvas", "as an oil painting", "in thick oil paint"],
    "van gogh": ["in the style of Van Gogh", "painted with Van Gogh swirls", "as a Van Gogh painting"],
    "watercolor": ["in watercolor", "as a watercolor painting", "soft watercolor style"],
    "pixel art": ["in pixel art", "as retro pixel art", "8-bit pixel art style"],
    "pencil sketch": ["as a pencil sketch", "drawn in pencil", "graphite sketch style"],
    "metallic": ["made of shiny metal", "in polished metal", "metallic chrome style"],
    "cartoon": ["as a cartoon", "cartoon style", "in flat cartoon colors"],
    "neon": ["in glowing neon", "neon light style", "as neon outlines"],
}

NUMBER_WORDS = {1: "a", 2: "two", 3: "three"}

"""Development tools, never loaded by the running bot (`manufacture-bot run`, bot.app).

demo.py: `manufacture-bot demo`, a throwaway local Synapse with the bot and demo rooms;
terminal_chat.py: `manufacture-bot chat`, the demo member's chat in a terminal;
local_synapse.py: starting that Synapse, for the demo, the integration tests and the benchmarks;
person.py: ScriptedPerson, a Matrix user driven by a test or a benchmark.
Synapse itself comes from the `demo` extra, which a production install need not have.
"""

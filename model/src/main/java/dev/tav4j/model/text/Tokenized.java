package dev.tav4j.model.text;

/**
 * One encoded prompt.
 *
 * @param ids exactly {@code maxLength} token ids: BOS, the prompt's tokens, EOS, then padding
 * @param truncated whether prompt tokens had to be dropped to fit
 * @param droppedTokens how many prompt tokens were dropped (0 when not truncated)
 * @param droppedText the dropped tokens decoded back to text ("" when not truncated)
 */
public record Tokenized(int[] ids, boolean truncated, int droppedTokens, String droppedText) {
    public Tokenized {
        ids = ids.clone();
    }

    @Override
    public int[] ids() {
        return ids.clone();
    }
}

package dev.tav4j.model.config;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** A tuned UNet's config.json keeps what its base config said (here SD 2.1's upcast_attention). */
class UNetConfigJsonTest {
    private static UNetConfig parse(String extra) throws Exception {
        String json = "{\"_class_name\": \"UNet2DConditionModel\", \"block_out_channels\": [320, 640, 1280, 1280],"
                + " \"down_block_types\": [\"CrossAttnDownBlock2D\", \"CrossAttnDownBlock2D\", \"CrossAttnDownBlock2D\", \"DownBlock2D\"],"
                + " \"up_block_types\": [\"UpBlock2D\", \"CrossAttnUpBlock2D\", \"CrossAttnUpBlock2D\", \"CrossAttnUpBlock2D\"],"
                + " \"attention_head_dim\": [5, 10, 20, 20], \"cross_attention_dim\": 1024, \"use_linear_projection\": true" + extra + "}";
        return UNetConfig.parse(Json.MAPPER.readTree(json), "config.json");
    }

    @Test
    void upcastAttentionRoundTrips() throws Exception {
        UNetConfig sd21 = parse(", \"upcast_attention\": true");
        assertTrue(sd21.upcastAttention());
        assertTrue(UNetConfigJson.tuned(sd21).get("upcast_attention").asBoolean());
        UNetConfig tunedBack = UNetConfig.parse(UNetConfigJson.tuned(sd21), "tuned config.json");
        assertTrue(tunedBack.upcastAttention() && tunedBack.is3D() && tunedBack.useLinearProjection());
        assertFalse(UNetConfigJson.tuned(parse("")).get("upcast_attention").asBoolean(), "absent means false, as in diffusers");
    }
}

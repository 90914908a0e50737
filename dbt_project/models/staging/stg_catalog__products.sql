{#- The product catalog, one row per product id (the version loaded last). -#}
with

source as (

    select * from {{ source('raw', 'catalog__products') }}

),

renamed as (

    select
        {{ clean_text('product_id') }} as product_id,
        {{ clean_text('name') }} as product_name,
        lower({{ clean_text('category') }}) as category,
        {{ clean_text('brand') }} as brand,
        {{ safe_decimal('price') }} as price,
        {{ timestamptz_to_utc('_loaded_at') }} as loaded_at,
        _batch_id as batch_id,
        cast(_source_row as bigint) as source_row
    from source

),

ranked as (

    select
        *,
        row_number() over (
            partition by product_id
            order by loaded_at desc, batch_id desc, source_row desc
        ) as version_rank
    from renamed
    where product_id is not null

),

final as (

    select
        product_id,
        product_name,
        category,
        brand,
        price,
        loaded_at,
        batch_id
    from ranked
    where version_rank = 1

)

select * from final
